package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.TestCluster;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.RaftHost;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Rule: a leader's lease ({@code RaftHost.confirmedLeaderTerm}) holds only while a majority of
 * its voters answered it lately. Once its followers are gone, Ratis still calls it leader until
 * it steps down (an election timeout without a majority); the lease ends before that, so nothing
 * decided on the lease (a side effect of a workflow step) runs in that window.
 */
class LeaderLeaseTest {
  @Test
  void aLeaderWhoseFollowersFellSilentLosesItsLeaseBeforeItStepsDown() throws Exception {
    try (TestCluster cluster = TestCluster.start(3, null, (id, b) -> {})) {
      NodeInspector leader = ClusterProbe.managementLeader(cluster, Duration.ofSeconds(30));
      RaftHost host = ClusterProbe.host(leader);
      GroupId group = ClusterProbe.managementGroup(leader);
      ClusterProbe.await("the leader holds its lease", Duration.ofSeconds(10),
          () -> host.leaderTerm(group) != 0 && host.confirmedLeaderTerm(group) == host.leaderTerm(group));
      long leaderId = cluster.node(1).inspector().clusterInfo().getManagementLeader();

      for (long id = 1; id <= 3; id++) {
        if (id != leaderId) {
          cluster.node(id).close();
        }
      }
      boolean leaseEndedWhileLeading = false;
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (host.leaderTerm(group) != 0 && System.nanoTime() < deadline) {
        leaseEndedWhileLeading |= host.confirmedLeaderTerm(group) == 0 && host.leaderTerm(group) != 0;
        Thread.sleep(2);
      }
      assertThat(leaseEndedWhileLeading).as("the lease ended while Ratis still called the node leader").isTrue();
      assertThat(host.confirmedLeaderTerm(group)).isZero();
    }
  }
}
