package io.raftoral.state;

import com.google.protobuf.InvalidProtocolBufferException;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.Topology;
import java.util.concurrent.CompletableFuture;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;

/**
 * The state machine of the management group (group 0): cluster topology only, never workflow
 * state. Today it records the bootstrap topology; membership changes extend it.
 */
public final class ManagementStateMachine extends BaseStateMachine {
  private volatile Topology topology = Topology.getDefaultInstance();

  /** The committed topology; empty until the first bootstrap command is applied. */
  public Topology topology() {
    return topology;
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = trx.getLogEntry();
    try {
      ManagementCommand command = ManagementCommand.parseFrom(entry.getStateMachineLogEntry().getLogData().asReadOnlyByteBuffer());
      if (command.hasBootstrap() && topology.getNodesCount() == 0) {
        topology = command.getBootstrap();
      }
    } catch (InvalidProtocolBufferException e) {
      return CompletableFuture.failedFuture(e);
    }
    updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
    return CompletableFuture.completedFuture(Message.EMPTY);
  }
}
