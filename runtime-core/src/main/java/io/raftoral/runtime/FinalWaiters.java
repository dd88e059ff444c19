package io.raftoral.runtime;

import io.raftoral.state.WorkflowEntry;
import io.raftoral.state.WorkflowState;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Callers waiting for workflows of one replica to reach a final status (or to leave it, pruned).
 * Every future completes: when the end is applied, when a restored state (an installed snapshot)
 * holds the workflow final or no longer holds it, or exceptionally when the node closes.
 */
final class FinalWaiters {
  private final ConcurrentHashMap<String, CompletableFuture<Void>> waiting = new ConcurrentHashMap<>();

  /** Completes once {@code state} holds the workflow final, or no longer holds it. */
  CompletableFuture<Void> future(String workflowId, WorkflowState state) {
    CompletableFuture<Void> f = waiting.computeIfAbsent(workflowId, id -> new CompletableFuture<>());
    // Checked after registering, so an end applied meanwhile is not missed.
    WorkflowEntry w = state.get(workflowId);
    if (w == null || !w.isRunning()) {
      complete(workflowId);
    }
    return f;
  }

  /** The workflow ended (or was pruned) in the replica. */
  void ended(String workflowId) {
    complete(workflowId);
  }

  /**
   * The replica's state was replaced without an applied command per change (loaded, or a snapshot
   * installed): a waited-for workflow may have ended, or been pruned, in entries never applied here.
   */
  void restored(WorkflowState state) {
    for (String id : waiting.keySet()) {
      WorkflowEntry w = state.get(id);
      if (w == null || !w.isRunning()) {
        complete(id);
      }
    }
  }

  void closeAll() {
    waiting.values().forEach(f -> f.completeExceptionally(new IllegalStateException("node closed")));
    waiting.clear();
  }

  int size() {
    return waiting.size();
  }

  private void complete(String workflowId) {
    CompletableFuture<Void> f = waiting.remove(workflowId);
    if (f != null) {
      f.complete(null);
    }
  }
}
