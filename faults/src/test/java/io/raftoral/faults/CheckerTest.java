package io.raftoral.faults;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The checker over small hand-written histories: each invariant is seen broken, and a clean history passes. */
class CheckerTest {
  private static JsonNode json(String text) {
    try {
      return History.JSON.readTree(text.replace('\'', '"'));
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException(text, e);
    }
  }

  private static List<JsonNode> lines(String... texts) {
    List<JsonNode> out = new ArrayList<>();
    for (String t : texts) {
      out.add(json(t));
    }
    return out;
  }

  private static final String RESULT = "{'version':1,'values':{'c':['n1','n2'],'p':[0,1]}}";

  /** w1 started, ran two steps (the second again on n2 after n1 was killed mid-step), completed; every node agrees. */
  private static List<JsonNode> cleanHistory() {
    return lines("{'op':'start','wf':'w1','node':1,'outcome':'ok'}",
        "{'op':'await','wf':'w1','node':2,'outcome':'ok','status':'COMPLETED','result':" + RESULT + "}",
        "{'op':'fault','kind':'KILL_ONE'}",
        "{'op':'recovered','kind':'KILL_ONE','millis':800}",
        "{'op':'final','wf':'w1','node':1,'outcome':'ok','status':'COMPLETED','result':" + RESULT + "}",
        "{'op':'final','wf':'w1','node':2,'outcome':'ok','status':'COMPLETED','result':" + RESULT + "}",
        "{'op':'digests','equal':true}");
  }

  private static List<JsonNode> cleanEffects() {
    return lines("{'wf':'w1','node':'n1','ev':'begin','key':'c','seq':0,'ms':1000}",
        "{'wf':'w1','node':'n1','ev':'end','key':'c','seq':0,'value':'n1','ms':1100}",
        "{'wf':'w1','node':'n1','ev':'begin','key':'c','seq':1,'ms':1101}",
        "{'wf':'','node':'n3','ev':'nemesis','key':'pause','ms':1150}", // not the owner: no failover
        "{'wf':'','node':'n1','ev':'nemesis','key':'kill','ms':1200}",
        "{'wf':'w1','node':'n2','ev':'begin','key':'c','seq':1,'ms':1950}",
        "{'wf':'w1','node':'n2','ev':'end','key':'c','seq':1,'value':'n2','ms':2050}");
  }

  @Test
  void aCleanHistoryBreaksNothingAndCountsTheStepCutShort() {
    Checker.Report r = Checker.check(cleanHistory(), cleanEffects());
    assertThat(r.violations).allSatisfy((name, count) -> assertThat(count).as(name).isZero());
    assertThat(r.clean()).isTrue();
    assertThat(r.reruns).isEqualTo(1);
    assertThat(r.stepRuns).isEqualTo(3);
    assertThat(r.faults).containsEntry("KILL_ONE", 1);
    assertThat(r.recoveryMillis).containsExactly(800L);
    assertThat(r.failoverMillis).as("from the owner's kill to n2's first step").containsExactly(750L);
    assertThat(r.failoverByCause).containsOnlyKeys("kill").containsEntry("kill", List.of(750L));
  }

  @Test
  void anOwnerBackBeforeAnotherNodeTookOverIsNoFailover() {
    List<JsonNode> effects = lines("{'wf':'w1','node':'n1','ev':'begin','key':'c','seq':0,'ms':1000}",
        "{'wf':'','node':'n1','ev':'nemesis','key':'pause','ms':1100}",
        "{'wf':'','node':'n1','ev':'nemesis','key':'resume','ms':1300}",
        "{'wf':'w1','node':'n1','ev':'end','key':'c','seq':0,'value':'n1','ms':1310}",
        "{'wf':'w1','node':'n2','ev':'begin','key':'c','seq':1,'ms':5000}"); // leadership moved later, for another reason
    assertThat(Checker.check(List.of(), effects).failoverMillis).isEmpty();
  }

  @Test
  void anAcknowledgedWorkflowThatNeverEndsIsLostAndOneNoNodeKnowsVanished() {
    List<JsonNode> h = lines("{'op':'start','wf':'w1','node':1,'outcome':'ok'}",
        "{'op':'start','wf':'w2','node':1,'outcome':'ok'}",
        "{'op':'start','wf':'w3','node':1,'outcome':'unknown','error':'TIMEOUT'}",
        "{'op':'final','wf':'w1','node':1,'outcome':'ok','status':'RUNNING'}",
        "{'op':'final','wf':'w2','node':1,'outcome':'fail','error':'NOT_FOUND'}",
        "{'op':'final','wf':'w3','node':1,'outcome':'fail','error':'NOT_FOUND'}");
    Checker.Report r = Checker.check(h, List.of());
    assertThat(r.violations).containsEntry("lost", 1).containsEntry("vanished", 1);
    assertThat(r.examples.get("lost")).containsExactly("w1");
    assertThat(r.examples.get("vanished")).containsExactly("w2"); // w3's start may never have happened
  }

  @Test
  void twoResultsForOneWorkflowAndNodesThatDisagreeAreCaught() {
    String other = "{'version':1,'values':{'c':['n1','n1'],'p':[0,1]}}";
    List<JsonNode> h = new ArrayList<>(cleanHistory());
    h.add(json("{'op':'final','wf':'w1','node':3,'outcome':'ok','status':'COMPLETED','result':" + other + "}"));
    Checker.Report r = Checker.check(h, cleanEffects());
    assertThat(r.violations).containsEntry("two_outcomes", 1).containsEntry("nodes_differ", 1);
    // n1 never ended position 1: that committed value came from no run
    assertThat(r.violations).containsEntry("result_not_from_a_run", 1);
  }

  @Test
  void aStepBegunAgainAfterALaterOneBeganIsACommittedStepRunAgain() {
    List<JsonNode> effects = new ArrayList<>(cleanEffects());
    effects.add(json("{'wf':'','node':'n1','ev':'nemesis','key':'resume'}"));
    effects.add(json("{'wf':'w1','node':'n1','ev':'begin','key':'c','seq':0}")); // position 1 had begun
    Checker.Report r = Checker.check(cleanHistory(), effects);
    assertThat(r.violations).containsEntry("committed_step_run_again", 1);
    assertThat(r.examples.get("committed_step_run_again")).singleElement().asString().contains("w1 c 0 on n1");
  }

  @Test
  void aTerminationAnsweredTerminatedMustEndTerminated() {
    List<JsonNode> h = new ArrayList<>(cleanHistory());
    h.add(1, json("{'op':'terminate','wf':'w1','node':1,'outcome':'ok','status':'TERMINATED'}"));
    Checker.Report r = Checker.check(h, cleanEffects());
    assertThat(r.violations).containsEntry("termination_not_honoured", 1);
  }

  @Test
  void aFailedWorkflowDivergingDigestsAndAFaultNeverRecoveredFromAreCaught() {
    List<JsonNode> h = lines("{'op':'start','wf':'w1','node':1,'outcome':'ok'}",
        "{'op':'final','wf':'w1','node':1,'outcome':'ok','status':'FAILED'}",
        "{'op':'recovered','kind':'SPLIT','millis':-1}",
        "{'op':'digests','equal':false,'detail':'g1 has two'}");
    Checker.Report r = Checker.check(h, List.of());
    assertThat(r.violations).containsEntry("failed", 1).containsEntry("replica_digests_differ", 1).containsEntry("not_recovered", 1)
        .containsEntry("lost", 0);
    assertThat(r.clean()).isFalse();
  }

  @Test
  void aDamagedDataDirectoryMustBeRefusedAndAFullDiskMustSaySo() {
    List<JsonNode> history = new ArrayList<>(cleanHistory());
    history.addAll(lines(
        "{'op':'fault','kind':'CORRUPT_LOG','victims':[2],'damage':'overwrote 8 bytes','refusable':true}",
        "{'op':'heal','kind':'CORRUPT_LOG','must_refuse':true,'start':'refused','refusal':'exit 1: corrupted'}",
        "{'op':'fault','kind':'CORRUPT_STATE','victims':[3],'damage':'no table file yet','refusable':false}",
        "{'op':'heal','kind':'CORRUPT_STATE','must_refuse':false,'start':'served'}",
        "{'op':'fault','kind':'DISK_FULL','victims':[1],'refused_while_full':true}",
        "{'op':'heal','kind':'DISK_FULL','served_again':true}"));
    Checker.Report fine = Checker.check(history, cleanEffects());
    assertThat(fine.clean()).as(fine.markdown()).isTrue();
    assertThat(fine.markdown()).contains("CORRUPT_LOG of n2: overwrote 8 bytes", "the node refused (exit 1: corrupted)");

    history.addAll(lines(
        "{'op':'fault','kind':'TRUNCATE_LOG','victims':[2],'damage':'cut','refusable':true}",
        "{'op':'heal','kind':'TRUNCATE_LOG','must_refuse':true,'start':'served'}",
        "{'op':'fault','kind':'DISK_FULL','victims':[3],'refused_while_full':false}",
        "{'op':'heal','kind':'DISK_FULL','served_again':false}"));
    Checker.Report r = Checker.check(history, cleanEffects());
    assertThat(r.violations).containsEntry("bad_file_used", 1).containsEntry("full_disk_not_refused", 1)
        .containsEntry("not_recovered", 1);
  }
}
