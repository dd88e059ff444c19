package io.raftoral.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The bounded fault matrix of {@code make test}: three node processes in network namespaces,
 * every kind of fault once in a seeded order while clients run workflows, then the checker. The
 * long run is {@code faults/run --minutes 30 --seed S} (docs/RELIABILITY.md). Needs root for the
 * namespaces; skipped, saying why, without.
 */
class FaultMatrixTest {
  private static Checker.Report run(String name, long seed, List<Nemesis.Kind> kinds, int holdMin, int holdMax, int clients)
      throws Exception {
    Path out = Path.of("target", "fault-runs", name + "-" + System.currentTimeMillis()).toAbsolutePath();
    FaultRun.Options o = new FaultRun.Options(3, seed, 0, 0, kinds, holdMin, holdMax, clients, "500ms", "15s", 64, 192, out);
    try {
      Checker.Report report = FaultRun.run(o, System.getProperty("java.class.path"));
      System.out.println(report.markdown());
      return report;
    } catch (NetworkNamespaces.Unavailable e) {
      Assumptions.abort(e.getMessage());
      throw e;
    }
  }

  @Test
  void everyKindOfFaultOnceBreaksNoInvariant() throws Exception {
    Checker.Report r = run("each-kind-once", 20261207, List.of(Nemesis.Kind.values()), 1000, 4000, 2);
    assertThat(r.faults.keySet()).containsExactlyInAnyOrderElementsOf(Arrays.stream(Nemesis.Kind.values()).map(Enum::name).toList());
    assertThat(r.acknowledged).as("acknowledged starts").isGreaterThan(20);
    assertThat(r.violations).as(r.markdown()).allSatisfy((name, count) -> assertThat(count).as(name).isZero());
  }

  /**
   * Found by the matrix: an owner frozen in the middle of a compute step (SIGSTOP) while another
   * node took over and went further came back believing it still owned the workflow, and began
   * a step the new owner had already committed. A compute step now starts only while a majority
   * has answered its leader lately.
   */
  @Test
  void anOwnerPausedMidStepRunsNoCommittedStepAgainWhenItResumes() throws Exception {
    // Paused just as a step ended: its result is being proposed and committed then.
    List<Nemesis.Kind> pauses = java.util.Collections.nCopies(8, Nemesis.Kind.PAUSE_OWNER_AT_COMMIT);
    Checker.Report r = run("paused-owner", 7, pauses, 1200, 2000, 4);
    assertThat(r.faults).containsEntry(Nemesis.Kind.PAUSE_OWNER_AT_COMMIT.name(), 8);
    assertThat(r.violations).as(r.markdown()).allSatisfy((name, count) -> assertThat(count).as(name).isZero());
  }
}
