package io.raftoral.graal;

import io.raftoral.workflow.WorkflowFileLoader;
import io.raftoral.workflow.WorkflowRegistry;
import java.nio.file.Path;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * {@code raftoral node --workflows FILE.mjs|FILE.py}: loads JavaScript and Python modules with the default options
 * and every {@link HostModule} listed in {@code META-INF/services} on the class path.
 */
public final class GraalFileLoader implements WorkflowFileLoader {
  @Override
  public String language() {
    return "JavaScript and Python (GraalVM)";
  }

  @Override
  public boolean loads(Path file) {
    return WorkflowModule.languageOf(file) != null;
  }

  @Override
  public AutoCloseable load(List<Path> files, WorkflowRegistry registry) {
    GraalOptions.Builder options = GraalOptions.builder();
    try {
      ServiceLoader.load(HostModule.class).forEach(options::hostModule);
    } catch (ServiceConfigurationError e) {
      throw new io.raftoral.common.RaftoralException("cannot load the host modules on the classpath (META-INF/services/"
          + HostModule.class.getName() + "): " + e.getMessage(), e);
    }
    GraalWorkflows workflows = GraalWorkflows.load(files, options.build());
    try {
      workflows.registerOn(registry);
    } catch (RuntimeException e) {
      workflows.close();
      throw e;
    }
    return workflows;
  }
}
