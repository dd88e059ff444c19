package io.raftoral.structure;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import io.raftoral.api.RaftoralNode;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package layering of runtime-core (docs/ARCHITECTURE.md, "Packages"): each package imports
 * only packages below it, so there are no package cycles.
 *
 * <pre>
 * cli -> api -> node -> runtime -> raft -> state -> storage      (config, workflow: the bottom)
 *                    -> worker (the worker protocol's server: uses workflow only)
 * security (TLS, tokens, who may call what): uses config only; the layers that serve or call use it
 * </pre>
 *
 * A layer may use any layer below it, not only the next one. Only this module's own classes are
 * checked (the main classes, not the tests): a dependency on another jar (common, client, proto)
 * is not a package of this module.
 */
class PackageStructureTest {
  private static JavaClasses classes;

  @BeforeAll
  static void importMainClasses() throws URISyntaxException {
    Path mainClasses = Path.of(RaftoralNode.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    classes = new ClassFileImporter().importPath(mainClasses);
  }

  @Test
  void noPackageCycles() {
    slices().matching("io.raftoral.(*)..").should().beFreeOfCycles().check(classes);
  }

  @Test
  void everyPackageImportsOnlyPackagesBelowIt() {
    layeredArchitecture().consideringOnlyDependenciesInLayers()
        .layer("cli").definedBy("io.raftoral.cli..")
        .layer("api").definedBy("io.raftoral.api..")
        .layer("node").definedBy("io.raftoral.node..")
        .layer("runtime").definedBy("io.raftoral.runtime..")
        .layer("worker").definedBy("io.raftoral.worker..")
        .layer("raft").definedBy("io.raftoral.raft..")
        .layer("state").definedBy("io.raftoral.state..")
        .layer("storage").definedBy("io.raftoral.storage..")
        .layer("security").definedBy("io.raftoral.security..")
        .layer("config").definedBy("io.raftoral.config..")
        .layer("workflow").definedBy("io.raftoral.workflow..")
        .whereLayer("cli").mayNotBeAccessedByAnyLayer()
        .whereLayer("api").mayOnlyBeAccessedByLayers("cli")
        .whereLayer("node").mayOnlyBeAccessedByLayers("cli", "api")
        .whereLayer("runtime").mayOnlyBeAccessedByLayers("cli", "api", "node")
        .whereLayer("worker").mayOnlyBeAccessedByLayers("cli", "api", "node")
        .whereLayer("raft").mayOnlyBeAccessedByLayers("cli", "api", "node", "runtime")
        .whereLayer("state").mayOnlyBeAccessedByLayers("cli", "api", "node", "runtime", "raft")
        .whereLayer("storage").mayOnlyBeAccessedByLayers("cli", "api", "node", "runtime", "raft", "state")
        .whereLayer("security").mayOnlyBeAccessedByLayers("cli", "api", "node", "runtime", "worker", "raft")
        .check(classes);
  }

  /** The worker host knows workflows, not how the node runs them: it reaches the runtime only through its node's hooks. */
  @Test
  void theWorkerHostUsesOnlyTheWorkflowPackage() {
    noClasses().that().resideInAPackage("io.raftoral.worker..")
        .should().dependOnClassesThat().resideInAnyPackage("io.raftoral.cli..", "io.raftoral.api..", "io.raftoral.node..",
            "io.raftoral.runtime..", "io.raftoral.raft..", "io.raftoral.state..", "io.raftoral.storage..", "io.raftoral.config..")
        .check(classes);
  }

  /** Security is a leaf beside config: it knows the node's options and the API's service names, nothing of how the node runs. */
  @Test
  void securityUsesOnlyConfig() {
    noClasses().that().resideInAPackage("io.raftoral.security..")
        .should().dependOnClassesThat().resideInAnyPackage("io.raftoral.cli..", "io.raftoral.api..", "io.raftoral.node..",
            "io.raftoral.runtime..", "io.raftoral.raft..", "io.raftoral.state..", "io.raftoral.storage..", "io.raftoral.workflow..",
            "io.raftoral.worker..")
        .check(classes);
  }

  /** The bottom: what a workflow author writes against and the node's options use no other package of the module. */
  @Test
  void configAndWorkflowUseNothingAboveThem() {
    noClasses().that().resideInAPackage("io.raftoral.config..")
        .should().dependOnClassesThat().resideInAnyPackage("io.raftoral.cli..", "io.raftoral.api..", "io.raftoral.node..",
            "io.raftoral.runtime..", "io.raftoral.raft..", "io.raftoral.state..", "io.raftoral.storage..", "io.raftoral.workflow..")
        .allowEmptyShould(true)
        .check(classes);
    noClasses().that().resideInAPackage("io.raftoral.workflow..")
        .should().dependOnClassesThat().resideInAnyPackage("io.raftoral.cli..", "io.raftoral.api..", "io.raftoral.node..",
            "io.raftoral.runtime..", "io.raftoral.raft..", "io.raftoral.state..", "io.raftoral.storage..", "io.raftoral.config..")
        .check(classes);
  }
}
