package io.raftoral.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class AppliedIndexWaitersTest {
  private final AtomicLong applied = new AtomicLong(-1);
  private final AppliedIndexWaiters waiters = new AppliedIndexWaiters(applied::get);

  @Test
  void anIndexAlreadyAppliedIsReachedAtOnce() {
    applied.set(7);
    assertThat(waiters.await(7, Duration.ofSeconds(1))).isDone();
    assertThat(waiters.waiting()).isZero();
  }

  @Test
  void eachWaiterCompletesWhenTheAppliedPositionReachesItsIndexAndNotBefore() {
    applied.set(3);
    CompletableFuture<Void> five = waiters.await(5, Duration.ofSeconds(30));
    CompletableFuture<Void> nine = waiters.await(9, Duration.ofSeconds(30));

    applied.set(4);
    waiters.advanced();
    assertThat(five).isNotDone();

    applied.set(6);
    waiters.advanced();
    assertThat(five).isCompleted();
    assertThat(nine).isNotDone();
    assertThat(waiters.waiting()).isEqualTo(1);

    applied.set(12); // several entries applied at once
    waiters.advanced();
    assertThat(nine).isCompleted();
    assertThat(waiters.waiting()).isZero();
  }

  @Test
  void aWaiterThatTimesOutFailsAndIsForgotten() {
    CompletableFuture<Void> never = waiters.await(100, Duration.ofMillis(50));
    assertThatThrownBy(() -> never.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(TimeoutException.class);
    assertThat(waiters.waiting()).isZero();
  }

  @Test
  void aPositionThatMovedWhileTheWaiterRegisteredStillCompletesIt() {
    // The supplier reports the index below on the first read, then reached: the move happened
    // between await's check and its registration, with no advanced() call after it.
    AtomicLong reads = new AtomicLong();
    AppliedIndexWaiters racing = new AppliedIndexWaiters(() -> reads.getAndIncrement() == 0 ? 1 : 2);
    assertThat(racing.await(2, Duration.ofSeconds(30))).isCompleted();
    assertThat(racing.waiting()).isZero();
  }
}
