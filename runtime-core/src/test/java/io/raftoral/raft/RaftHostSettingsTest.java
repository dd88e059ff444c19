package io.raftoral.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.server.RaftServerConfigKeys;
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
}
