package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When a node counts as faulted and when as recovered (docs/ARCHITECTURE.md, "Disk faults"). A
 * real {@link DiskWatch} on a directory that is missing (a disk that cannot be written) and then
 * created (the disk usable again); the replicas' state is a value the test sets.
 */
class NodeHealthTest {
  private static final Duration LOOK = Duration.ofMillis(10);

  @TempDir
  Path tmp;

  /** Records the reactions; {@code restarts}: whether recovering restarts the node (reopening its replicas). */
  private static final class Reactions implements NodeHealth.Reaction {
    final boolean restarts;
    final List<String> faults = new CopyOnWriteArrayList<>();
    final List<String> recoveries = new CopyOnWriteArrayList<>();

    Reactions(boolean restarts) {
      this.restarts = restarts;
    }

    @Override
    public void faulted(String why) {
      faults.add(why);
    }

    @Override
    public boolean recovered(String was) {
      recoveries.add(was);
      return !restarts;
    }

    @Override
    public boolean restarts() {
      return restarts;
    }
  }

  // A write that failed on the full disk halted a replica; the disk is then freed. Only a restart
  // reopens the replica, so the halted replica must not hold back the recovery that restarts
  // the node (it did: the node stayed NOT_SERVING for good, DiskFullProcessesTest).
  @Test
  void aReplicaHaltedByTheDiskFaultDoesNotHoldBackTheRestartOnceTheDiskIsUsable() throws Exception {
    Path disk = tmp.resolve("disk");
    AtomicReference<String> replica = new AtomicReference<>();
    AtomicInteger looks = new AtomicInteger();
    Reactions reactions = new Reactions(true);
    try (NodeHealth health = new NodeHealth(1, List.of(new DiskWatch(disk, 0)), () -> {
      looks.incrementAndGet();
      return replica.get();
    }, LOOK, reactions)) {
      health.start();
      await(() -> !reactions.faults.isEmpty());
      assertThat(reactions.faults.getFirst()).contains("cannot write to " + disk);
      replica.set("its replica of group g stopped applying entries (No space left on device)");

      Files.createDirectories(disk);

      await(() -> !reactions.recoveries.isEmpty());
      assertThat(reactions.recoveries).hasSize(1);
      assertThat(reactions.faults).hasSize(1);
    }
  }

  // Without a restart nothing reopens a halted replica: the node stays in its fault.
  @Test
  void withoutARestartAHaltedReplicaKeepsTheFaultUntilItAppliesAgain() throws Exception {
    Path disk = Files.createDirectories(tmp.resolve("disk"));
    AtomicReference<String> replica = new AtomicReference<>("its replica of group g stopped applying entries (boom)");
    AtomicInteger looks = new AtomicInteger();
    Reactions reactions = new Reactions(false);
    try (NodeHealth health = new NodeHealth(1, List.of(new DiskWatch(disk, 0)), () -> {
      looks.incrementAndGet();
      return replica.get();
    }, LOOK, reactions)) {
      health.start();
      await(() -> !reactions.faults.isEmpty());
      int seen = looks.get();
      await(() -> looks.get() >= seen + 5 * NodeHealth.CLEAR_LOOKS);
      assertThat(reactions.recoveries).isEmpty();
      assertThat(health.fault()).contains("stopped applying entries");

      replica.set(null);

      await(() -> !reactions.recoveries.isEmpty());
      assertThat(health.fault()).isNull();
    }
  }

  private static void await(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("condition within 10 s").isLessThan(deadline);
      Thread.sleep(5);
    }
  }
}
