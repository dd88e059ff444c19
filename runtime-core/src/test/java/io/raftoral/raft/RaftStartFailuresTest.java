package io.raftoral.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.BindException;
import java.util.concurrent.CompletionException;
import org.apache.ratis.io.CorruptedFileException;
import org.apache.ratis.protocol.exceptions.ChecksumException;
import org.apache.ratis.util.ExitUtils;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Ratis's start failures are told apart by their types, as Ratis throws them (the chains below
 * are the ones a corrupted log segment and a taken port produce), never by their messages.
 */
class RaftStartFailuresTest {
  @Test
  void aLogThatFailsItsChecksumOrCannotBeParsedIsACorruptLog() {
    ChecksumException checksum = new ChecksumException("Log entry corrupted: Calculated checksum is 1 but read checksum is 2.", 0);
    Throwable start = new CompletionException(new IllegalStateException("n1@group-1: Failed to initRaftLog.", checksum));
    assertThat(RaftStartFailures.corruptLog(start)).isSameAs(checksum);

    CorruptedFileException segment = new CorruptedFileException(new java.io.File("log_0-9"), "bad entry");
    IOException closing = new IOException("close failed");
    closing.addSuppressed(segment);
    assertThat(RaftStartFailures.corruptLog(new RuntimeException("start failed", closing))).isSameAs(segment);
  }

  @Test
  void aMessageThatMentionsCorruptionIsNotACorruptLog() {
    assertThat(RaftStartFailures.corruptLog(new IllegalStateException("Failed to initRaftLog: corrupt checksum"))).isNull();
    assertThat(RaftStartFailures.corruptLog(new IOException("disk full"))).isNull();
  }

  @Test
  void aBindExceptionOrRatissExitOnAFailedServerStartIsABindFailure() {
    assertThat(RaftStartFailures.bindFailure(new IOException("Failed to bind", new BindException("Address already in use")))).isTrue();
    // The native transport reports the taken port as a plain IOException; Ratis then "exits".
    ExitUtils.disableSystemExit(); // as RaftHost does: terminate throws instead of exiting
    ExitUtils.ExitException exit = null;
    try {
      ExitUtils.terminate(1, "Failed to start Grpc server", new IOException("Failed to bind to address 127.0.0.1:7001",
          new IOException("bind(..) failed: Address already in use")), true, LoggerFactory.getLogger(RaftStartFailuresTest.class));
    } catch (ExitUtils.ExitException e) {
      exit = e;
    }
    assertThat(RaftStartFailures.bindFailure(new CompletionException(exit))).isTrue();

    assertThat(RaftStartFailures.bindFailure(new IllegalStateException("Failed to start Grpc server"))).isFalse();
    assertThat(RaftStartFailures.bindFailure(new IOException("disk full"))).isFalse();
  }
}
