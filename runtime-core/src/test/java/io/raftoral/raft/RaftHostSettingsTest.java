package io.raftoral.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.proto.grpc.RaftServerProtocolServiceGrpc;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.thirdparty.com.google.common.util.concurrent.MoreExecutors;
import org.apache.ratis.thirdparty.io.grpc.Attributes;
import org.apache.ratis.thirdparty.io.grpc.Metadata;
import org.apache.ratis.thirdparty.io.grpc.MethodDescriptor;
import org.apache.ratis.thirdparty.io.grpc.ServerCall;
import org.apache.ratis.thirdparty.io.grpc.Status;
import org.apache.ratis.util.TimeDuration;
import org.junit.jupiter.api.Test;

class RaftHostSettingsTest {
  @Test
  void systemPropertiesWithThePrefixOverrideRatisKeysAndNothingElse() {
    RaftProperties p = new RaftProperties();
    RaftServerConfigKeys.Log.Appender.setWaitTimeMin(p, TimeDuration.ZERO);
    Properties system = new Properties();
    system.setProperty("raftoral.ratis.raft.server.log.appender.wait-time.min", "3ms");
    system.setProperty("raftoral.ratis.", "ignored: no key");
    system.setProperty("ratis.raft.server.log.force.sync.num", "ignored: no prefix");

    RaftHost.overrides(p, system);

    assertThat(RaftServerConfigKeys.Log.Appender.waitTimeMin(p).toLong(TimeUnit.MILLISECONDS)).isEqualTo(3);
    assertThat(RaftServerConfigKeys.Log.forceSyncNum(p)).isEqualTo(RaftServerConfigKeys.Log.FORCE_SYNC_NUM_DEFAULT);
    assertThat(p.get("")).isNull();
  }

  // appendEntries runs where gRPC read it; votes, snapshot chunks and read indexes go to the
  // server's executor (null: gRPC's default).
  @Test
  void onlyAppendEntriesRunsOnTheEventLoop() {
    assertThat(RaftHost.APPEND_ENTRIES_INLINE.getExecutor(callOf(RaftServerProtocolServiceGrpc.getAppendEntriesMethod()), new Metadata()))
        .isSameAs(MoreExecutors.directExecutor());
    for (MethodDescriptor<?, ?> pooled : new MethodDescriptor<?, ?>[] {RaftServerProtocolServiceGrpc.getRequestVoteMethod(),
        RaftServerProtocolServiceGrpc.getInstallSnapshotMethod(), RaftServerProtocolServiceGrpc.getReadIndexMethod(),
        RaftServerProtocolServiceGrpc.getStartLeaderElectionMethod()}) {
      assertThat(RaftHost.APPEND_ENTRIES_INLINE.getExecutor(callOf(pooled), new Metadata())).as(pooled.getFullMethodName()).isNull();
    }
  }

  /** A server call that only knows its method. */
  static <Q, R> ServerCall<Q, R> callOf(MethodDescriptor<Q, R> method) {
    return new ServerCall<>() {
      @Override
      public void request(int numMessages) {}

      @Override
      public void sendHeaders(Metadata headers) {}

      @Override
      public void sendMessage(R message) {}

      @Override
      public void close(Status status, Metadata trailers) {}

      @Override
      public boolean isCancelled() {
        return false;
      }

      @Override
      public Attributes getAttributes() {
        return Attributes.EMPTY;
      }

      @Override
      public MethodDescriptor<Q, R> getMethodDescriptor() {
        return method;
      }
    };
  }
}
