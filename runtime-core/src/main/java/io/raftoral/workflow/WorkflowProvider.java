package io.raftoral.workflow;

import io.raftoral.common.Errors;

/**
 * Contributes workflow definitions to a node that is not built in code, such as {@code raftoral
 * node}: every implementation on the classpath listed in
 * {@code META-INF/services/io.raftoral.workflow.WorkflowProvider} is loaded with {@link
 * java.util.ServiceLoader} and registers its workflows before the node starts.
 *
 * <p>Implementations need a public no-argument constructor. Register the same types on every
 * node of a cluster; registering a type twice fails with {@link Errors.AlreadyRegisteredException}.
 */
public interface WorkflowProvider {
  void register(WorkflowRegistry registry);
}
