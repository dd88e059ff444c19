package io.raftoral.state;

import com.google.protobuf.InvalidProtocolBufferException;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.management.Topology;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * The Ratis state machine of the management group: cluster topology only, never workflow
 * state. Applies {@link ManagementCommand}s to {@link ManagementState}, replies with a
 * {@link ManagementResult}, and publishes each new topology to one listener.
 */
public final class ManagementStateMachine extends BaseStateMachine {
  private final ManagementState state = new ManagementState();
  private volatile Topology topology = Topology.getDefaultInstance();
  private volatile Consumer<Topology> listener = t -> {};
  private volatile Runnable leaderListener = () -> {};

  /** The committed topology; empty until the bootstrap command is applied. */
  public Topology topology() {
    return topology;
  }

  /** Called on a Ratis thread after every applied command; must not block. */
  public void setListener(Consumer<Topology> listener, Runnable leaderChanged) {
    this.listener = listener;
    this.leaderListener = leaderChanged;
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = trx.getLogEntry();
    ManagementResult result;
    try {
      ManagementCommand command = ManagementCommand.parseFrom(entry.getStateMachineLogEntry().getLogData().asReadOnlyByteBuffer());
      synchronized (state) {
        result = state.apply(command);
        topology = state.topology();
      }
    } catch (InvalidProtocolBufferException e) {
      return CompletableFuture.failedFuture(e);
    }
    updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
    listener.accept(topology);
    return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(result.toByteArray())));
  }

  @Override
  public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
    leaderListener.run();
  }
}
