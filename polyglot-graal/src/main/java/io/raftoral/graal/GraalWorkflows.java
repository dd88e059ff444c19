package io.raftoral.graal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.api.RaftoralNode;
import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowType;
import io.raftoral.workflow.ExecutionMode;
import io.raftoral.workflow.WorkflowContext;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowFunction;
import io.raftoral.workflow.WorkflowRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.Engine;
import org.graalvm.polyglot.EnvironmentAccess;
import org.graalvm.polyglot.HostAccess;
import org.graalvm.polyglot.PolyglotAccess;
import org.graalvm.polyglot.PolyglotException;
import org.graalvm.polyglot.Source;
import org.graalvm.polyglot.SourceSection;
import org.graalvm.polyglot.Value;
import org.graalvm.polyglot.io.IOAccess;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Workflows written in JavaScript (ES modules), run inside the node through GraalVM Polyglot.
 *
 * <pre>{@code
 * try (GraalWorkflows js = GraalWorkflows.load(Path.of("flows/order.mjs"))) {
 *   RaftoralNode.Builder builder = RaftoralNode.builder()...;
 *   js.registerOn(builder);
 *   try (RaftoralNode node = builder.start()) { ... }
 * }
 * }</pre>
 *
 * <p>A module imports {@code workflow} from the built-in module {@code "raftoral"} and exports
 * what it returns; every such export is a workflow type ({@code raftoral.d.ts} is the API). One
 * {@link Engine} serves every module (parsed code is shared); each type keeps a pool of contexts
 * with its module evaluated, and a run holds one context while it runs (README.md). Close this
 * after the node that runs the workflows.
 */
public final class GraalWorkflows implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(GraalWorkflows.class);
  private static final Logger SCRIPT_LOG = LoggerFactory.getLogger("raftoral.js");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Source PYTHON_GLUE = pythonGlue();
  private static final Source INSTALL_BUILTIN =
      Source.newBuilder("js", "import \"raftoral\";", "raftoral-install.mjs").mimeType("application/javascript+module").buildLiteral();

  private final GraalOptions options;
  private final Map<String, HostModule> hostModules = new LinkedHashMap<>();
  private final Path builtinDir;
  private final List<Path> roots;
  private final Engine engine;
  private final ScheduledExecutorService timers;
  private final Set<Watched> running = ConcurrentHashMap.newKeySet();
  private final ContextPool pool = new ContextPool(this);
  private final List<WorkflowDefinition<byte[], byte[]>> definitions = new ArrayList<>();
  private final Map<WorkflowType, WorkflowModule> modules = new HashMap<>();
  private volatile boolean closed;

  /** Loads the workflows of {@code files} with the default options. */
  public static GraalWorkflows load(Path... files) {
    return load(List.of(files), GraalOptions.defaults());
  }

  /**
   * Loads the workflows of {@code files}: evaluates each module once and collects the workflow
   * types it exports.
   *
   * @throws Errors.InvalidArgumentException when a file cannot be read, does not compile, fails
   *     while it loads or exports no workflow (naming the file, line and reason), or when two
   *     exports declare the same type and version
   */
  public static GraalWorkflows load(List<Path> files, GraalOptions options) {
    if (files.isEmpty()) {
      throw new Errors.InvalidArgumentException("no workflow module to load");
    }
    GraalWorkflows loaded = new GraalWorkflows(files, options);
    try {
      for (Path file : files) {
        loaded.loadModule(file.toAbsolutePath().normalize());
      }
    } catch (RuntimeException | Error e) {
      loaded.close();
      throw e;
    }
    LOG.info("GraalVM workflows {} from {} (GraalVM {} on {}, {} runtime)",
        loaded.definitions.stream().map(d -> d.type().toString()).toList(), files, loaded.engine.getVersion(),
        System.getProperty("java.vm.name"), loaded.engine.getImplementationName());
    return loaded;
  }

  private GraalWorkflows(List<Path> files, GraalOptions options) {
    this.options = options;
    options.hostModules().forEach(m -> hostModules.put(m.name(), m));
    List<Path> dirs = new ArrayList<>();
    for (Path f : files) {
      if (!Files.isRegularFile(f) || !Files.isReadable(f)) {
        throw new Errors.InvalidArgumentException(f + ": no such readable file");
      }
      try {
        Path dir = f.toRealPath().getParent();
        if (!dirs.contains(dir)) {
          dirs.add(dir);
        }
      } catch (IOException e) {
        throw new Errors.InvalidArgumentException(f + ": " + e.getMessage());
      }
    }
    this.roots = List.copyOf(dirs);
    try {
      builtinDir = Files.createTempDirectory("raftoral-js-");
      try (InputStream in = GraalWorkflows.class.getResourceAsStream("raftoral.mjs")) {
        Files.copy(in, builtinDir.resolve("raftoral.mjs"));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the built-in module raftoral.mjs", e);
    }
    engine = Engine.newBuilder()
        .option("engine.WarnInterpreterOnly", "false") // said once in the log line above instead
        .build();
    timers = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("raftoral-js-timers").unstarted(r));
    long limitNanos = options.turnLimit().toNanos();
    long tick = Math.max(10, Math.min(100, options.turnLimit().toMillis() / 4));
    timers.scheduleAtFixedRate(() -> {
      long now = System.nanoTime();
      running.forEach(r -> r.check(now, limitNanos));
    }, tick, tick, TimeUnit.MILLISECONDS);
    MemoryGuard.add(this, options.heapLimit());
  }

  /**
   * The memory guard: the heap after a collection is above the limit. The idle contexts go first
   * (memory no run needs; the next collection tells whether that was enough); only when none is
   * left is the code running now stopped.
   */
  void heapNearlyFull(String usage) {
    int dropped = pool.dropIdle();
    if (dropped > 0) {
      LOG.warn("the node's heap stayed above the memory guard's limit after a collection ({}): closed the {} idle "
          + "JavaScript and Python contexts", usage, dropped);
      return;
    }
    String why = "the node's heap stayed above the memory guard's limit after a collection (" + usage + "): the "
        + "workflow's code was stopped while it ran, to keep the node alive (polyglot-graal's heapLimit)";
    LOG.warn("{}; stopping the JavaScript and Python code that runs now", why);
    running.forEach(r -> r.memoryExceeded(why));
  }

  /** Every workflow type the modules export, as definitions over JSON bytes. */
  public List<WorkflowDefinition<byte[], byte[]>> definitions() {
    return List.copyOf(definitions);
  }

  /** Registers every workflow on a node before it starts. */
  public RaftoralNode.Builder registerOn(RaftoralNode.Builder builder) {
    definitions.forEach(builder::register);
    return builder;
  }

  /** Registers every workflow on a registry ({@code raftoral node}, or a running node's). */
  public WorkflowRegistry registerOn(WorkflowRegistry registry) {
    definitions.forEach(registry::register);
    return registry;
  }

  /** Idle contexts that could run {@code type} (its module's; for tests and the benchmark). */
  int idleContexts(WorkflowType type) {
    WorkflowModule module = modules.get(type);
    return module == null ? 0 : pool.idleCount(module);
  }

  /** Idle contexts of every module (for tests). */
  int idleContexts() {
    return pool.idleCount();
  }

  /** The module that declares {@code type} (for tests). */
  WorkflowModule moduleOf(WorkflowType type) {
    return modules.get(type);
  }

  ContextPool pool() {
    return pool;
  }

  GraalOptions options() {
    return options;
  }

  HostModule hostModule(String name) {
    return hostModules.get(name);
  }

  ScheduledExecutorService timers() {
    return timers;
  }

  /** A run the watchdog and the memory guard look at. */
  interface Watched {
    /** Stops the run's code when it has run longer than the limit without yielding. */
    void check(long nowNanos, long limitNanos);

    /** Stops the run's code if it is running now: the heap is nearly full. */
    void memoryExceeded(String why);

    /** Stops the run's code (its context is discarded); the workflow fails with {@code type}. */
    void stop(String type, String message);
  }

  void watch(Watched run) {
    if (closed) {
      throw new Errors.NodeClosedException("the GraalVM workflows (JavaScript, Python) are closed");
    }
    running.add(run);
  }

  void unwatch(Watched run) {
    running.remove(run);
  }

  private void loadModule(Path file) {
    String language = WorkflowModule.languageOf(file);
    if (language == null) {
      throw new Errors.InvalidArgumentException(file + ": not a workflow module (.mjs or .js: JavaScript, .py: Python)");
    }
    Source source;
    try {
      source = "js".equals(language)
          ? Source.newBuilder("js", file.toFile()).mimeType("application/javascript+module").build()
          : Source.newBuilder("python", file.toFile()).build();
    } catch (IOException e) {
      throw new Errors.InvalidArgumentException(file + ": cannot read: " + e.getMessage());
    }
    WorkflowModule module = new WorkflowModule(file, language, source);
    PooledContext first = newContext(module);
    try {
      JsonNode exported = JSON.readTree(first.describe());
      if (exported.isEmpty()) {
        throw new Errors.InvalidArgumentException(file + ("js".equals(language)
            ? ": exports no workflow (export const w = workflow(\"name\", 1, async (ctx, input) => ...) with workflow "
                + "imported from \"raftoral\")"
            : ": declares no workflow (@workflow(\"name\", 1) on a function fn(ctx, input), from raftoral import workflow)"));
      }
      for (JsonNode w : exported) {
        WorkflowType type = new WorkflowType(w.get("name").asText(), w.get("version").asInt());
        if (definitions.stream().anyMatch(d -> d.type().equals(type))) {
          throw new Errors.InvalidArgumentException(file + ": export " + w.get("exportName").asText() + " declares "
              + type + ", which another export declares already");
        }
        String exportName = w.get("exportName").asText();
        modules.put(type, module);
        ExecutionMode mode = "owner_only".equals(w.get("mode").asText()) ? ExecutionMode.OWNER_ONLY : ExecutionMode.HOT_STANDBY;
        definitions.add(WorkflowDefinition.ofBytes(type.name(), type.version(), new ModuleFunction(module, exportName))
            .withMode(mode)
            .withKeepLastPerKey(w.get("keepLastPerKey").asLong()));
      }
    } catch (IOException e) {
      closeQuietly(first);
      throw new UncheckedIOException(e);
    } catch (RuntimeException | Error e) {
      closeQuietly(first);
      throw e;
    }
    pool.give(module, first);
  }

  /**
   * A workflow function of a module: one run on a pooled context, on a platform thread of its own
   * (GraalPy and the JavaScript interpreter compute for long without blocking, a new Python
   * context for a second or more: on a virtual thread that would hold a carrier the node's own
   * work needs, and the turn limit could not read the thread's CPU time).
   */
  private final class ModuleFunction implements WorkflowFunction<byte[], byte[]> {
    private final WorkflowModule module;
    private final String exportName;

    ModuleFunction(WorkflowModule module, String exportName) {
      this.module = module;
      this.exportName = exportName;
    }

    @Override
    public byte[] run(WorkflowContext ctx, byte[] input) throws Exception {
      return pool.run(module, exportName, ctx, input);
    }

    @Override
    public boolean needsPlatformThread() {
      return true;
    }
  }

  /** A new context of {@code module}: sandboxed, its module evaluated. */
  PooledContext newContext(WorkflowModule module) {
    if (closed) {
      throw new Errors.NodeClosedException("the GraalVM workflows (JavaScript, Python) are closed");
    }
    return "js".equals(module.language()) ? newJsContext(module) : newPythonContext(module);
  }

  private JsContext newJsContext(WorkflowModule module) {
    ModuleHost host = new ModuleHost(this);
    String fileName = module.file().getFileName().toString();
    java.util.function.Supplier<String> where = () -> host.run != null ? fileName + " " + host.run.workflowId() : fileName;
    Context context = sandboxed("js", new ModuleFileSystem(builtinDir.resolve("raftoral.mjs"), roots), where)
        .option("js.esm-eval-returns-exports", "true")
        // No Nashorn/Graal extras: load() and loadWithNewGlobal() (a fresh realm has the real
        // clock), the Java package globals, the Graal and Polyglot objects.
        .option("js.load", "false")
        .option("js.java-package-globals", "false")
        .option("js.graal-builtin", "false")
        .option("js.polyglot-builtin", "false")
        // AsyncContext tells a compute function's continuations from the rest of the run (raftoral.mjs).
        .allowExperimentalOptions(true)
        .option("js.async-context", "true")
        .build();
    LoadWatch watch = new LoadWatch(context);
    try (watch) {
      context.getBindings("js").putMember("__raftoralHost", host);
      // The built-in module first: it guards the clock and hides the host object before any
      // module of the user's runs, also one the workflow module imports before "raftoral".
      context.eval(INSTALL_BUILTIN);
      Value namespace = context.eval(module.source());
      if (host.describeExports == null) {
        throw new Errors.InvalidArgumentException(module.file() + ": exports no workflow (it does not import \"raftoral\")");
      }
      return new JsContext(context, host, namespace);
    } catch (PolyglotException e) {
      context.close(true);
      throw loadFailure(module, watch, e);
    } catch (RuntimeException | Error e) {
      context.close(true);
      throw e;
    }
  }

  /**
   * A context of {@code language} on the shared engine that sees only what is exported on purpose
   * (ModuleHost, JsRun, PyRun): no classes, no threads, no processes, no environment, no other
   * language, no files beyond {@code files}; its stdout and stderr go to the node's log.
   */
  private Context.Builder sandboxed(String language, org.graalvm.polyglot.io.FileSystem files,
      java.util.function.Supplier<String> where) {
    return Context.newBuilder(language)
        .engine(engine)
        .allowHostAccess(HostAccess.EXPLICIT)
        .allowHostClassLookup(className -> false)
        .allowHostClassLoading(false)
        .allowPolyglotAccess(PolyglotAccess.NONE)
        .allowCreateThread(false)
        .allowCreateProcess(false)
        .allowNativeAccess(false)
        .allowEnvironmentAccess(EnvironmentAccess.NONE)
        .allowIO(IOAccess.newBuilder().fileSystem(files).build())
        .out(new LogStream(SCRIPT_LOG, false, where))
        .err(new LogStream(SCRIPT_LOG, true, where));
  }

  /** Cancels a module's evaluation that runs longer than the load limit (module code that spins must not hang the start). */
  private final class LoadWatch implements AutoCloseable {
    private final java.util.concurrent.ScheduledFuture<?> timer;
    volatile boolean fired;

    LoadWatch(Context context) {
      timer = timers.schedule(() -> {
        fired = true;
        Thread.ofVirtual().name("raftoral-graal-load-cancel").start(() -> context.close(true));
      }, options.loadLimit().toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
      timer.cancel(false);
    }
  }

  private Errors.InvalidArgumentException loadFailure(WorkflowModule module, LoadWatch watch, PolyglotException e) {
    if (watch.fired || e.isCancelled()) {
      return new Errors.InvalidArgumentException(module.file() + ": its code ran longer than " + options.loadLimit().toMillis()
          + " ms while the module loaded (the load limit): a module's top-level code must not run long");
    }
    return new Errors.InvalidArgumentException(describe(module.file(), e));
  }

  /**
   * A Python context: the same sandbox, plus read access to GraalPy's own standard library (an
   * internal resource of its jar); the built-in module installed, then the workflow module run.
   */
  private PyContext newPythonContext(WorkflowModule module) {
    PyContext.Host host = new PyContext.Host(this);
    String fileName = module.file().getFileName().toString();
    java.util.function.Supplier<String> where = () -> host.run != null ? fileName + " " + host.run.workflowId() : fileName;
    // GraalPy reads its own standard library: its language home and internal resources (its jar's).
    Context context = sandboxed("python", org.graalvm.polyglot.io.FileSystem.allowInternalResourceAccess(
        org.graalvm.polyglot.io.FileSystem.allowLanguageHomeAccess(new ModuleFileSystem(null, roots))), where)
        .build();
    LoadWatch watch = new LoadWatch(context);
    try (watch) {
      context.eval(PYTHON_GLUE);
      Value bindings = context.getBindings("python");
      Value installed = bindings.getMember("_raftoral_install").execute(host, module.file().getParent().toString());
      bindings.removeMember("_raftoral_install");
      PyContext pooled = new PyContext(context, host, installed);
      context.eval(module.source());
      pooled.loaded();
      return pooled;
    } catch (PolyglotException e) {
      context.close(true);
      throw loadFailure(module, watch, e);
    } catch (RuntimeException | Error e) {
      context.close(true);
      throw e;
    }
  }

  /** "file:line:column: SyntaxError: message" for a module that fails to compile or to load. */
  private String describe(Path file, PolyglotException e) {
    SourceSection at = e.getSourceLocation();
    if (at == null || isBuiltin(at)) { // a thrown error: where the first guest frame of the user's code is
      at = null;
      for (PolyglotException.StackFrame frame : e.getPolyglotStackTrace()) {
        if (frame.isGuestFrame() && frame.getSourceLocation() != null && !isBuiltin(frame.getSourceLocation())) {
          at = frame.getSourceLocation();
          break;
        }
      }
    }
    String where = at != null && at.getSource() != null && at.getSource().getPath() != null
        ? at.getSource().getPath() + ":" + at.getStartLine() + ":" + at.getStartColumn()
        : file.toString();
    String message = String.valueOf(e.getMessage());
    if (e.isSyntaxError() && !message.startsWith("SyntaxError")) {
      message = "SyntaxError: " + message;
    }
    return where + ": " + message;
  }

  private static Source pythonGlue() {
    try (InputStream in = GraalWorkflows.class.getResourceAsStream("raftoral_glue.py")) {
      return Source.newBuilder("python", new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8),
          "raftoral_glue.py").build();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Whether a source location is in the built-in module (or its installer), not in the user's code. */
  private boolean isBuiltin(SourceSection at) {
    String path = at.getSource() == null ? null : at.getSource().getPath();
    String name = at.getSource() == null ? "" : at.getSource().getName();
    return (path != null && Path.of(path).startsWith(builtinDir)) || "raftoral-install.mjs".equals(name)
        || "raftoral_glue.py".equals(name);
  }

  static void closeQuietly(PooledContext pooled) {
    try {
      pooled.context.close(true);
    } catch (RuntimeException e) {
      LOG.debug("closing a JavaScript context: {}", e.toString());
    }
  }

  /** Closes the contexts and the engine; runs still going are cancelled. Close it after the node. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    timers.shutdownNow();
    pool.close();
    running.forEach(r -> r.stop(null, "the node closed its JavaScript and Python workflows while this run ran"));
    MemoryGuard.remove(this);
    try {
      engine.close(true);
    } catch (RuntimeException e) {
      LOG.debug("closing the JavaScript engine: {}", e.toString());
    }
    try (Stream<Path> files = Files.walk(builtinDir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      LOG.debug("removing {}: {}", builtinDir, e.toString());
    }
  }

  @Override
  public String toString() {
    return "GraalVM workflows " + definitions.stream().map(d -> d.type().toString()).toList();
  }
}
