package io.raftoral.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.api.RaftoralNode;
import io.raftoral.common.Errors;
import java.time.Duration;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** The raftoral.proposer.* system properties of tuning experiments (docs/ARCHITECTURE.md, "Proposer"). */
class TuningPropertiesTest {
  @Test
  void anUnsetPropertyKeepsTheBuildersValueAndASetOneReplacesIt() {
    Properties system = new Properties();
    assertThat(Tuning.property(system, "raftoral.proposer.max-in-flight", 2, 1, 1024)).isEqualTo(2);

    system.setProperty("raftoral.proposer.max-in-flight", " 4 ");
    assertThat(Tuning.property(system, "raftoral.proposer.max-in-flight", 2, 1, 1024)).isEqualTo(4);
  }

  @Test
  void aValueThatIsNotAWholeNumberOrOutOfRangeIsRefused() {
    Properties system = new Properties();
    for (String bad : new String[] {"x", "1.5", "0", "-3", "", "1025"}) {
      system.setProperty("raftoral.proposer.max-in-flight", bad);
      assertThatThrownBy(() -> Tuning.property(system, "raftoral.proposer.max-in-flight", 2, 1, 1024))
          .as(bad)
          .isInstanceOf(Errors.InvalidArgumentException.class)
          .hasMessageContaining("raftoral.proposer.max-in-flight")
          .hasMessageContaining("from 1 to 1024");
    }
  }

  // The builder's linger is refused outside 0..1 s before the node starts anything.
  @Test
  void aBatchLingerOutOfRangeRefusesTheStart() {
    for (Duration bad : new Duration[] {Duration.ofNanos(-1), Duration.ofMillis(1001), null}) {
      assertThatThrownBy(() -> RaftoralNode.builder().batchLinger(bad).start())
          .as(String.valueOf(bad))
          .isInstanceOf(Errors.InvalidArgumentException.class)
          .hasMessageContaining("batchLinger");
    }
  }
}
