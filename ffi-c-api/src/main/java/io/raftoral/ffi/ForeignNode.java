package io.raftoral.ffi;

import io.raftoral.api.Errors;
import io.raftoral.api.RaftoralNode;
import java.util.ArrayList;
import java.util.List;

/** A node created through the C ABI: its builder until started, then the node and the workflows C registered. */
final class ForeignNode {
  private RaftoralNode.Builder builder;
  private volatile RaftoralNode node;
  private final List<ForeignWorkflow> workflows = new ArrayList<>();
  private boolean closed;

  ForeignNode(RaftoralNode.Builder builder) {
    this.builder = builder;
  }

  synchronized void register(ForeignWorkflow workflow) {
    checkOpen();
    if (node != null) {
      node.registry().register(workflow.definition());
    } else {
      builder.register(workflow.definition());
    }
    workflows.add(workflow);
  }

  synchronized void start() {
    checkOpen();
    if (node != null) {
      throw new Errors.InvalidArgumentException("the node is started already");
    }
    node = builder.start();
    builder = null;
  }

  /** The running node. */
  RaftoralNode node() {
    RaftoralNode n = node;
    if (n == null) {
      throw new Errors.NodeClosedException(closed ? "the node is closed" : "the node is not started: call raftoral_node_start");
    }
    return n;
  }

  /** Whether {@link #start} has run; registration and configuration are still possible before it. */
  boolean started() {
    return node != null;
  }

  /** Stops the node, then releases what C gave each workflow type (its finalizer runs once). */
  synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      if (node != null) {
        node.close();
      }
    } finally {
      node = null;
      builder = null;
      workflows.forEach(ForeignWorkflow::finalizeEnv);
      workflows.clear();
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new Errors.NodeClosedException("the node is closed");
    }
  }
}
