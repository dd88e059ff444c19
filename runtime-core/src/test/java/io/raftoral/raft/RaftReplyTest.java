package io.raftoral.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.exceptions.LeaderNotReadyException;
import org.apache.ratis.protocol.exceptions.NotLeaderException;
import org.apache.ratis.protocol.exceptions.RaftException;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;

/** Ratis's replies and group ids as the layers above the raft package see them. */
class RaftReplyTest {
  private static final RaftGroupId GROUP = RaftGroupId.valueOf(UUID.fromString("00000000-0000-0000-0000-00000000000b"));

  @Test
  void successCarriesMessageIndexAndAnsweringNode() {
    RaftReply reply = RaftReply.of(builder().setSuccess(true).setLogIndex(42)
        .setMessage(Message.valueOf(ByteString.copyFromUtf8("result"))).build());

    assertThat(reply.isSuccess()).isTrue();
    assertThat(reply.error()).isNull();
    assertThat(reply.logIndex()).isEqualTo(42);
    assertThat(reply.serverNode()).isEqualTo(3);
    assertThat(text(reply.message())).isEqualTo("result");
    assertThat(text(reply.message())).as("each call a fresh view").isEqualTo("result");
  }

  @Test
  void failuresKeepTheirKindAndRatisCause() {
    RaftGroupMemberId member = RaftGroupMemberId.valueOf(PeerIds.of(3), GROUP);
    NotLeaderException notLeader = new NotLeaderException(member, null, List.of());
    LeaderNotReadyException notReady = new LeaderNotReadyException(member);
    StateMachineException refused = new StateMachineException("apply failed");

    assertThat(failure(notLeader).kind()).isEqualTo(RaftError.Kind.NOT_LEADER);
    assertThat(failure(notReady).kind()).isEqualTo(RaftError.Kind.LEADER_NOT_READY);
    RaftError error = failure(refused);
    assertThat(error.kind()).isEqualTo(RaftError.Kind.STATE_MACHINE);
    assertThat(error.getCause()).isSameAs(refused);
    assertThat(error.getMessage()).contains("apply failed");
  }

  @Test
  void aCallWithoutReplyFailsWithOurError() {
    java.util.concurrent.TimeoutException silent = new java.util.concurrent.TimeoutException();
    java.util.concurrent.CompletableFuture<RaftReply> call = RaftHost.ours(
        java.util.concurrent.CompletableFuture.<RaftClientReply>failedFuture(new java.util.concurrent.CompletionException(silent)));

    assertThat(call).isCompletedExceptionally();
    Throwable error = call.handle((r, e) -> e).join();
    assertThat(error).isInstanceOf(RaftError.class);
    assertThat(((RaftError) error).kind()).isEqualTo(RaftError.Kind.NO_ANSWER);
    assertThat(error.getCause()).isSameAs(silent);
  }

  @Test
  void groupIdsEqualByUuidAndPrintAsRatisDoes() {
    UUID uuid = UUID.fromString("00000000-0000-0000-0000-00000000000b");

    assertThat(GroupId.of(uuid)).isEqualTo(GroupId.of(GROUP)).hasSameHashCodeAs(GroupId.of(GROUP));
    assertThat(GroupId.of(uuid).uuid()).isEqualTo(uuid);
    assertThat(GroupId.of(uuid).toString()).isEqualTo(GROUP.toString());
    assertThat(GroupIds.execution("c", 1).uuid().toString()).isEqualTo(GroupIds.executionUuid("c", 1));
  }

  private static RaftError failure(RaftException ratis) {
    RaftReply reply = RaftReply.of(builder().setSuccess(false).setException(ratis).build());
    assertThat(reply.isSuccess()).isFalse();
    return reply.error();
  }

  private static RaftClientReply.Builder builder() {
    return RaftClientReply.newBuilder().setClientId(ClientId.randomId()).setServerId(PeerIds.of(3)).setGroupId(GROUP).setCallId(1);
  }

  private static String text(ByteBuffer b) {
    byte[] bytes = new byte[b.remaining()];
    b.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
