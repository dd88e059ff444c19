package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.TestCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.proto.raft.Command;
import io.raftoral.raft.GroupId;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fault that a restart does not cure (here an entry no replica can apply, as a bug in the
 * apply rules would leave) stops the node with a message after a few restarts, instead of
 * restarting it forever (docs/ARCHITECTURE.md, "Disk faults").
 */
class PersistentFaultTest {
  @TempDir
  Path tmp;

  @Test
  void aFaultThatEveryRestartBringsBackStopsTheNodeSayingSo() throws Exception {
    try (TestCluster cluster = TestCluster.start(1, tmp, (id, b) -> {})) {
      RaftoralNode node = cluster.node(1);
      GroupId group = node.inspector().executionGroupIds().getFirst();

      // A command without a kind: applying it throws on every replica, at every replay.
      node.inspector().propose(group, Command.getDefaultInstance());

      ExecutionException stopped = org.assertj.core.api.Assertions.catchThrowableOfType(ExecutionException.class,
          () -> node.stopped().get(120, TimeUnit.SECONDS));
      assertThat(stopped).as("the node stopped with an error").isNotNull();
      assertThat(stopped.getCause()).hasMessageContaining("restarted 3 times").hasMessageContaining("fault came back")
          .hasMessageContaining("stopped applying entries");
    }
  }
}
