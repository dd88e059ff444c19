package io.raftoral.raft;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * Ratis stays behind the {@code raft} package's wall (docs/ARCHITECTURE.md): the rest of the
 * engine speaks our own types ({@link GroupId}, {@link RaftReply}, byte arrays, our protobufs),
 * and the deterministic apply rules in {@code state} know neither Ratis nor the raft layer.
 */
class RatisWallTest {
  private static final JavaClasses MAIN = new ClassFileImporter()
      .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
      .importPackages("io.raftoral");

  @Test
  void onlyTheRaftPackageUsesRatis() {
    noClasses()
        .that().resideOutsideOfPackage("io.raftoral.raft..")
        .should().dependOnClassesThat().resideInAPackage("org.apache.ratis..")
        .because("Ratis stays behind the raft package's wall")
        .check(MAIN);
  }

  @Test
  void theApplyRulesKnowNeitherRatisNorTheRaftLayer() {
    noClasses()
        .that().resideInAPackage("io.raftoral.state..")
        .should().dependOnClassesThat().resideInAnyPackage("org.apache.ratis..", "io.raftoral.raft..")
        .check(MAIN);
  }

  @Test
  void storageUsesNoRatis() {
    noClasses()
        .that().resideInAPackage("io.raftoral.storage..")
        .should().dependOnClassesThat().resideInAPackage("org.apache.ratis..")
        .check(MAIN);
  }
}
