package io.raftoral.workflow;

import java.nio.file.Path;
import java.util.List;

/**
 * Loads workflow definitions written in another language from source files, for {@code raftoral
 * node --workflows FILE}: every implementation on the classpath listed in {@code
 * META-INF/services/io.raftoral.workflow.WorkflowFileLoader} is asked, by file name, which files
 * it loads (the {@code polyglot-graal} module loads JavaScript modules this way).
 *
 * <p>Implementations need a public no-argument constructor.
 */
public interface WorkflowFileLoader {
  /** A short name of what it loads, for messages ({@code "JavaScript"}). */
  String language();

  /** Whether it loads {@code file}, judged by its name (its extension). */
  boolean loads(Path file);

  /**
   * Reads {@code files} and registers every workflow they define on {@code registry}. The returned
   * handle frees what the definitions hold (interpreters, threads); the caller closes it once the
   * node that runs them has stopped.
   *
   * @throws io.raftoral.common.Errors.InvalidArgumentException when a file cannot be read or does
   *     not compile, naming the file, the line and the reason
   */
  AutoCloseable load(List<Path> files, WorkflowRegistry registry);
}
