package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.TestCluster;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.RaftHost;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Rule: a leader's leadership is confirmed ({@code RaftHost.confirmLeadership}) only while a
 * majority acknowledges it (its lease, or a heartbeat round). Once its followers are gone, Ratis
 * still calls it leader until it steps down (an election timeout without a majority); confirmation
 * fails before that, so nothing decided on it (a side effect of a workflow step) runs in that window.
 */
class LeaderLeaseTest {
  private static final Duration CONFIRM = Duration.ofMillis(100);

  @Test
  void aLeaderWhoseFollowersFellSilentLosesItsLeaseBeforeItStepsDown() throws Exception {
    try (TestCluster cluster = TestCluster.start(3, null, (id, b) -> {})) {
      NodeInspector leader = ClusterProbe.managementLeader(cluster, Duration.ofSeconds(30));
      RaftHost host = ClusterProbe.host(leader);
      GroupId group = ClusterProbe.managementGroup(leader);
      ClusterProbe.await("the leader's leadership is confirmed", Duration.ofSeconds(10),
          () -> host.leaderTerm(group) != 0 && host.confirmLeadership(group, host.leaderTerm(group), CONFIRM));
      long leaderId = cluster.node(1).inspector().clusterInfo().getManagementLeader();

      for (long id = 1; id <= 3; id++) {
        if (id != leaderId) {
          cluster.node(id).close();
        }
      }
      boolean leaseEndedWhileLeading = false;
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (host.leaderTerm(group) != 0 && System.nanoTime() < deadline) {
        long term = host.leaderTerm(group);
        leaseEndedWhileLeading |= term != 0 && !host.confirmLeadership(group, term, CONFIRM) && host.leaderTerm(group) == term;
        Thread.sleep(2);
      }
      assertThat(leaseEndedWhileLeading).as("confirmation failed while Ratis still called the node leader").isTrue();
      assertThat(host.confirmLeadership(group, host.leaderTerm(group), CONFIRM)).isFalse();
    }
  }
}
