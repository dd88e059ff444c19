package io.raftoral.ffi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowJson;
import io.raftoral.common.Errors;
import io.raftoral.common.HistoryPage;
import io.raftoral.common.HistoryQuery;
import io.raftoral.common.WorkflowType;
import io.raftoral.workflow.ExecutionMode;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.time.Duration;

/**
 * The Java side of every entry of {@code jtable.h}, one static method each (the C name in camel
 * case). Each runs its body through {@link #call}, so that nothing escapes an upcall: an
 * exception there would kill the host process.
 */
final class Abi {
  // void fn(void *env, raftoral_output_t *output)
  private static final MethodHandle CALL_COMPUTE = Native.LINKER.downcallHandle(FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));

  private Abi() {}

  @FunctionalInterface
  interface Body {
    void run() throws Throwable;
  }

  /** Runs an entry: {@link Status#OK}, or the failure's code with an error object for C. */
  static int call(MemorySegment errorOut, Body body) {
    try {
      body.run();
      return Status.OK;
    } catch (Throwable t) {
      Status.Failure failure = Status.of(t);
      Native.storeError(errorOut, failure);
      return failure.code().number();
    }
  }

  // --- library ---

  static int shutdown(MemorySegment errorOut) {
    return call(errorOut, () -> {
      RuntimeException first = null;
      for (ForeignNode node : Handles.all(Handles.Kind.NODE, ForeignNode.class)) {
        try {
          node.close();
        } catch (RuntimeException e) {
          first = first == null ? e : first;
        }
      }
      if (first != null) {
        throw first;
      }
    });
  }

  // --- nodes ---

  static int nodeCreate(MemorySegment configJson, MemorySegment nodeOut, MemorySegment errorOut) {
    return call(errorOut, () -> {
      NodeConfig.Parsed config = NodeConfig.parse(Native.string(configJson, "config_json"));
      MemorySegment out = Native.out(nodeOut, JAVA_LONG.byteSize(), "node_out");
      out.set(JAVA_LONG, 0, Handles.add(Handles.Kind.NODE,
          new ForeignNode(config.builder(), config.startTimeout(), config.closeGrace())));
    });
  }

  static int nodeRegisterWorkflow(long node, MemorySegment type, int version, int mode, long keepLastPerKey, MemorySegment fn,
      MemorySegment env, MemorySegment finalizer, MemorySegment errorOut) {
    return call(errorOut, () -> {
      ForeignNode n = node(node);
      String name = Native.string(type, "type");
      if (fn.equals(MemorySegment.NULL)) {
        throw new Errors.InvalidArgumentException("fn must not be NULL");
      }
      if (version < 1) {
        throw new Errors.InvalidArgumentException("version must be >= 1, got " + Integer.toUnsignedString(version));
      }
      ExecutionMode m = switch (mode) {
        case 0 -> ExecutionMode.HOT_STANDBY;
        case 1 -> ExecutionMode.OWNER_ONLY;
        default -> throw new Errors.InvalidArgumentException("mode must be RAFTORAL_MODE_HOT_STANDBY (0) or"
            + " RAFTORAL_MODE_OWNER_ONLY (1), got " + mode);
      };
      if (keepLastPerKey < 0) {
        throw new Errors.InvalidArgumentException("keep_last_per_key must be >= 0 (0 keeps the whole history), got "
            + keepLastPerKey);
      }
      n.register(new ForeignWorkflow(new WorkflowType(name, version), m, keepLastPerKey, fn, env, finalizer));
    });
  }

  static int nodeStart(long node, MemorySegment errorOut) {
    return call(errorOut, () -> node(node).start());
  }

  static int nodeId(long node, MemorySegment idOut, MemorySegment errorOut) {
    return call(errorOut, () -> {
      long id = node(node).node().nodeId();
      Native.out(idOut, JAVA_LONG.byteSize(), "id_out").set(JAVA_LONG, 0, id);
    });
  }

  static int nodeApiAddress(long node, MemorySegment buf, long capacity, MemorySegment lenOut, MemorySegment errorOut) {
    return call(errorOut, () -> {
      String address = node(node).node().apiAddress();
      Native.storeString(buf, capacity, lenOut, address == null ? "" : address);
    });
  }

  static int nodeHttpAddress(long node, MemorySegment buf, long capacity, MemorySegment lenOut, MemorySegment errorOut) {
    return call(errorOut, () -> {
      String address = node(node).node().httpAddress();
      Native.storeString(buf, capacity, lenOut, address == null ? "" : address);
    });
  }

  static int nodeClose(long node, MemorySegment errorOut) {
    return call(errorOut, () -> {
      ForeignNode n = node(node);
      Handles.remove(node); // first: the handle is invalid from now on, even if closing fails
      n.close();
    });
  }

  // --- workflows ---

  static int workflowStart(long node, MemorySegment type, int version, MemorySegment input, long inputLen,
      MemorySegment workflowId, MemorySegment workflowIdOut, MemorySegment errorOut) {
    return call(errorOut, () -> {
      RaftoralNode n = node(node).node();
      String name = Native.string(type, "type");
      byte[] in = Native.bytes(input, inputLen, "input");
      String id = Native.optionalString(workflowId, "workflow_id");
      MemorySegment out = Native.out(workflowIdOut, Native.BUF_SIZE, "workflow_id_out");
      if (version < 1) {
        throw new Errors.InvalidArgumentException("version must be >= 1, got " + Integer.toUnsignedString(version));
      }
      // Chosen here, before anything is sent, so that a failed start can name it (the error's
      // detail) and the caller can retry with it: a start by id is idempotent.
      String chosen = id != null ? id : n.newWorkflowId();
      String started;
      try {
        started = n.start(name, version, in, byte[].class, chosen).workflowId();
      } catch (RuntimeException e) {
        Status.Failure failure = Status.of(e);
        throw new AbiException(failure.code(), failure.message(), chosen);
      }
      Native.storeBuf(out, started);
    });
  }

  static int workflowAwait(long node, MemorySegment workflowId, long timeoutMs, MemorySegment resultOut,
      MemorySegment errorOut) {
    return call(errorOut, () -> {
      RaftoralNode n = node(node).node();
      String id = Native.string(workflowId, "workflow_id");
      MemorySegment out = Native.out(resultOut, Native.BUF_SIZE, "result_out");
      if (timeoutMs < 0) {
        throw new Errors.InvalidArgumentException("timeout_ms must be >= 0, got " + timeoutMs);
      }
      Native.storeBuf(out, n.handle(id, byte[].class).result(Duration.ofMillis(timeoutMs)));
    });
  }

  static int workflowDescribe(long node, MemorySegment workflowId, MemorySegment infoOut, MemorySegment errorOut) {
    return call(errorOut, () -> {
      RaftoralNode n = node(node).node();
      String id = Native.string(workflowId, "workflow_id");
      MemorySegment out = Native.out(infoOut, Native.BUF_SIZE, "info_json_out");
      Native.storeBuf(out, WorkflowJson.info(n.describe(id)).toString());
    });
  }

  static int workflowList(long node, MemorySegment queryJson, MemorySegment pageOut, MemorySegment errorOut) {
    return call(errorOut, () -> {
      RaftoralNode n = node(node).node();
      var query = WorkflowJson.query(Native.optionalString(queryJson, "query_json"));
      MemorySegment out = Native.out(pageOut, Native.BUF_SIZE, "page_json_out");
      Native.storeBuf(out, WorkflowJson.page(n.list(query)).toString());
    });
  }

  static int workflowHistory(long node, MemorySegment workflowId, MemorySegment key, MemorySegment pageToken, int limit,
      MemorySegment historyOut, MemorySegment errorOut) {
    return call(errorOut, () -> {
      RaftoralNode n = node(node).node();
      String id = Native.string(workflowId, "workflow_id");
      String k = Native.optionalString(key, "key");
      String token = Native.optionalString(pageToken, "page_token");
      MemorySegment out = Native.out(historyOut, Native.BUF_SIZE, "history_json_out");
      if (k != null && k.isEmpty()) {
        // NULL is every key; an empty key is more likely a caller's mistake than that intent.
        throw new Errors.InvalidArgumentException("key must not be empty; pass NULL for the history of every key");
      }
      long size = Integer.toUnsignedLong(limit);
      if (size > HistoryQuery.MAX_LIMIT) {
        throw new Errors.InvalidArgumentException("limit must be between 1 and " + HistoryQuery.MAX_LIMIT
            + " (0: " + HistoryQuery.DEFAULT_LIMIT + "), got " + size);
      }
      HistoryQuery query = new HistoryQuery(k, size == 0 ? HistoryQuery.DEFAULT_LIMIT : (int) size, token);
      HistoryPage page = n.history(id, query);
      Native.storeBuf(out, WorkflowJson.history(id, page.entries(), page.nextPageToken()).toString());
    });
  }

  static int workflowTerminate(long node, MemorySegment workflowId, MemorySegment reason, MemorySegment infoOut,
      MemorySegment errorOut) {
    return call(errorOut, () -> {
      RaftoralNode n = node(node).node();
      String id = Native.string(workflowId, "workflow_id");
      String why = Native.optionalString(reason, "reason");
      var info = n.terminate(id, why == null ? "" : why);
      if (!infoOut.equals(MemorySegment.NULL)) {
        Native.storeBuf(Native.out(infoOut, Native.BUF_SIZE, "info_json_out"), WorkflowJson.info(info).toString());
      }
    });
  }

  // --- inside a workflow ---

  static int ctxCheckpoint(long ctx, MemorySegment key, MemorySegment value, long valueLen, MemorySegment committedOut,
      MemorySegment errorOut) {
    return call(errorOut, () -> {
      ForeignRun run = Handles.get(ctx, Handles.Kind.CTX, ForeignRun.class);
      String k = Native.string(key, "key");
      byte[] v = Native.bytes(value, valueLen, "value");
      MemorySegment out = Native.out(committedOut, Native.BUF_SIZE, "committed_out");
      Native.storeBuf(out, run.guard(() -> run.ctx().checkpointBytes(k, v)));
    });
  }

  static int ctxCheckpointCompute(long ctx, MemorySegment key, MemorySegment fn, MemorySegment env,
      MemorySegment committedOut, MemorySegment errorOut) {
    return call(errorOut, () -> {
      ForeignRun run = Handles.get(ctx, Handles.Kind.CTX, ForeignRun.class);
      String k = Native.string(key, "key");
      if (fn.equals(MemorySegment.NULL)) {
        throw new Errors.InvalidArgumentException("fn must not be NULL");
      }
      MemorySegment out = Native.out(committedOut, Native.BUF_SIZE, "committed_out");
      Native.storeBuf(out, run.guard(() -> run.ctx().checkpointComputeBytes(k, () -> compute(k, fn, env))));
    });
  }

  /** Calls a raftoral_compute_fn with a fresh output and returns what it put there. */
  private static byte[] compute(String key, MemorySegment fn, MemorySegment env) {
    Output output = new Output();
    long handle = Handles.add(Handles.Kind.OUTPUT, output);
    try {
      CALL_COMPUTE.invokeExact(fn, env, MemorySegment.ofAddress(handle));
    } catch (Throwable t) {
      throw new IllegalStateException("calling the compute function of checkpoint '" + key + "' failed", t);
    } finally {
      Handles.remove(handle);
    }
    return output.valueOrThrow("the compute function of checkpoint '" + key + "'");
  }

  static int ctxIsTerminated(long ctx, MemorySegment terminatedOut, MemorySegment errorOut) {
    return call(errorOut, () -> {
      ForeignRun run = Handles.get(ctx, Handles.Kind.CTX, ForeignRun.class);
      MemorySegment out = Native.out(terminatedOut, JAVA_INT.byteSize(), "terminated_out");
      run.checkWanted();
      out.set(JAVA_INT, 0, run.ctx().isTerminated() ? 1 : 0);
    });
  }

  static int ctxIsOwner(long ctx, MemorySegment ownerOut, MemorySegment errorOut) {
    return call(errorOut, () -> {
      ForeignRun run = Handles.get(ctx, Handles.Kind.CTX, ForeignRun.class);
      MemorySegment out = Native.out(ownerOut, JAVA_INT.byteSize(), "owner_out");
      run.checkWanted();
      out.set(JAVA_INT, 0, run.ctx().isOwner() ? 1 : 0);
    });
  }

  static int ctxWorkflowId(long ctx, MemorySegment buf, long capacity, MemorySegment lenOut, MemorySegment errorOut) {
    return call(errorOut, () -> {
      ForeignRun run = Handles.get(ctx, Handles.Kind.CTX, ForeignRun.class);
      Native.storeString(buf, capacity, lenOut, run.ctx().workflowId());
    });
  }

  static int outputSet(long output, MemorySegment data, long len, MemorySegment errorOut) {
    return call(errorOut, () -> {
      Output o = Handles.get(output, Handles.Kind.OUTPUT, Output.class);
      o.set(Native.bytes(data, len, "data"));
    });
  }

  static int outputFail(long output, MemorySegment errorType, MemorySegment message, MemorySegment errorOut) {
    return call(errorOut, () -> {
      Output o = Handles.get(output, Handles.Kind.OUTPUT, Output.class);
      String type = Native.string(errorType, "error_type");
      if (type.isEmpty()) {
        throw new Errors.InvalidArgumentException("error_type must not be empty");
      }
      o.fail(type, Native.optionalString(message, "message"));
    });
  }

  private static ForeignNode node(long handle) {
    return Handles.get(handle, Handles.Kind.NODE, ForeignNode.class);
  }
}
