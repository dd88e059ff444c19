package io.raftoral.raft;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.proto.management.ClaimWorkflowId;
import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementQuery;
import io.raftoral.proto.management.ManagementQueryReply;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.management.NodeRecord;
import io.raftoral.proto.management.Role;
import io.raftoral.proto.management.Topology;
import java.io.IOException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.proto.RaftProtos.StateMachineLogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The management group's state machine driven as Ratis drives it (initialize, applyTransaction,
 * takeSnapshot, query, close) on real Ratis storage: workflow id claims survive a restart from
 * a snapshot, and a query answers a claim.
 */
class ManagementStateMachineSnapshotTest {
  private static final RaftGroupId GROUP = RaftGroupId.valueOf(UUID.fromString("00000000-0000-0000-0000-00000000000b"));

  @TempDir
  Path tmp;

  private final List<Replica> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws IOException {
    for (Replica r : List.copyOf(open).reversed()) {
      r.close();
    }
  }

  @Test
  void claimsInASnapshotSurviveARestartAndStayOutOfThePublishedTopology() throws Exception {
    Replica first = replica("n1");
    first.apply(1, 1, ManagementCommand.newBuilder().setBootstrap(bootstrapTopology()).build());
    assertThat(first.apply(2, 1, claim("order-1", 1)).getValue()).isEqualTo(1);
    assertThat(first.apply(3, 1, claim("order-2", 0)).getValue()).isEqualTo(0);
    assertThat(first.machine.takeSnapshot()).isEqualTo(3);
    first.close();

    Replica again = replica("n1");

    assertThat(again.machine.getLastAppliedTermIndex().getIndex()).isEqualTo(3);
    assertThat(again.machine.claimedGroup("order-1")).isEqualTo(1);
    assertThat(again.machine.claimedGroup("order-2")).isEqualTo(0);
    assertThat(again.machine.claimedGroup("order-3")).isNull();
    assertThat(again.machine.topology().getWorkflowIdClaimsList()).isEmpty();
    assertThat(again.machine.topology().getExecutionGroupsCount()).isEqualTo(2);
    ManagementResult repeated = again.apply(4, 1, claim("order-1", 0));
    assertThat(repeated.getApplied()).isTrue();
    assertThat(repeated.getValue()).as("the claim from before the restart wins").isEqualTo(1);
  }

  @Test
  void aQueryAnswersWhetherAnIdIsClaimedAndWhere() throws Exception {
    Replica r = replica("n1");
    r.apply(1, 1, ManagementCommand.newBuilder().setBootstrap(bootstrapTopology()).build());
    r.apply(2, 1, claim("order-1", 1));

    ManagementQueryReply claimed = r.query(ManagementQuery.newBuilder().setClaimedWorkflowId("order-1").build());
    ManagementQueryReply unclaimed = r.query(ManagementQuery.newBuilder().setClaimedWorkflowId("order-2").build());

    assertThat(claimed.getFound()).isTrue();
    assertThat(claimed.getGroupIndex()).isEqualTo(1);
    assertThat(unclaimed.getFound()).isFalse();
  }

  private static Topology bootstrapTopology() {
    Topology.Builder t = Topology.newBuilder().setClusterId("c");
    for (long n = 1; n <= 4; n++) {
      t.addNodes(NodeRecord.newBuilder().setNodeId(n).setRaftAddress("h:" + n).setRole(Role.VOTER));
    }
    t.addExecutionGroups(ExecutionGroupRecord.newBuilder().setIndex(0).setGroupId(GroupIds.executionUuid("c", 0))
        .addAllMembers(List.of(1L, 2L)));
    t.addExecutionGroups(ExecutionGroupRecord.newBuilder().setIndex(1).setGroupId(GroupIds.executionUuid("c", 1))
        .addAllMembers(List.of(3L, 4L)));
    return t.build();
  }

  private static ManagementCommand claim(String id, int index) {
    return ManagementCommand.newBuilder().setClaimWorkflowId(ClaimWorkflowId.newBuilder().setWorkflowId(id).setGroupIndex(index)).build();
  }

  private final class Replica implements AutoCloseable {
    final ManagementStateMachine machine;
    final RaftStorage storage;

    Replica(ManagementStateMachine machine, RaftStorage storage) {
      this.machine = machine;
      this.storage = storage;
    }

    /** A committed entry as Ratis hands it to a follower's state machine. */
    ManagementResult apply(long index, long term, ManagementCommand command) throws Exception {
      LogEntryProto entry = LogEntryProto.newBuilder().setTerm(term).setIndex(index)
          .setStateMachineLogEntry(StateMachineLogEntryProto.newBuilder()
              .setLogData(UnsafeByteOperations.unsafeWrap(command.toByteArray())))
          .build();
      TransactionContext trx = TransactionContext.newBuilder().setServerRole(RaftPeerRole.FOLLOWER).setStateMachine(machine)
          .setLogEntry(entry).build();
      Message reply = machine.applyTransaction(trx).join();
      return ManagementResult.parseFrom(reply.getContent().toByteArray());
    }

    ManagementQueryReply query(ManagementQuery q) throws Exception {
      Message reply = machine.query(Message.valueOf(ByteString.copyFrom(q.toByteArray()))).join();
      return ManagementQueryReply.parseFrom(reply.getContent().toByteArray());
    }

    @Override
    public void close() throws IOException {
      machine.close();
      storage.close();
      open.remove(this);
    }
  }

  private Replica replica(String name) throws IOException {
    RaftStorage storage = RaftStorage.newBuilder().setDirectory(tmp.resolve("raft").resolve(name).toFile())
        .setOption(RaftStorage.StartupOption.RECOVER).setStorageFreeSpaceMin(RaftServerConfigKeys.STORAGE_FREE_SPACE_MIN_DEFAULT)
        .build();
    storage.initialize();
    ManagementStateMachine machine = new ManagementStateMachine();
    try {
      machine.initialize(server(name), GROUP, storage);
    } catch (IOException | RuntimeException e) {
      storage.close();
      throw e;
    }
    Replica r = new Replica(machine, storage);
    open.add(r);
    return r;
  }

  /**
   * The state machine asks its server for its id (to name itself in logs) and, before answering a
   * query, for its division's commit index: there is none here, as for a division that is closing.
   */
  private static RaftServer server(String id) {
    return (RaftServer) Proxy.newProxyInstance(RaftServer.class.getClassLoader(), new Class<?>[] {RaftServer.class},
        (proxy, method, args) -> switch (method.getName()) {
          case "getId" -> RaftPeerId.valueOf(id);
          case "getDivision" -> throw new java.io.IOException("no division in this test");
          case "toString" -> "server " + id;
          default -> throw new UnsupportedOperationException(method.getName());
        });
  }
}
