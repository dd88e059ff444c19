package io.raftoral.bench.jmh;

import com.google.protobuf.ByteString;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.OwnerChange;
import io.raftoral.proto.raft.SetCheckpoint;
import io.raftoral.proto.raft.WorkflowEnd;
import io.raftoral.proto.raft.WorkflowStart;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** The commands of a seq10 workflow as the runtime proposes them, for the micro-benchmarks. */
final class Commands {
  /** The owner term every benchmark's group is in. */
  static final long TERM = 3;

  private Commands() {}

  /** A workflow id of fixed length (like the runtime's UUIDs), distinct per {@code n}. */
  static String workflowId(long n) {
    return String.format("00000000-0000-4000-8000-%012d", n);
  }

  static ByteString json(int value) {
    return ByteString.copyFrom(Integer.toString(value), StandardCharsets.UTF_8);
  }

  static Command ownerChange(long node) {
    return Command.newBuilder().setOwnerChange(OwnerChange.newBuilder().setOwnerNode(node).setClaimantTerm(TERM).setReason("bench")).build();
  }

  static Command start(String id, int input) {
    return Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder()
        .setWorkflowId(id).setType("seq10").setVersion(1).setInput(json(input)).setStartedAtMillis(1_764_000_000_000L)).build();
  }

  static Command checkpoint(String id, String key, long seq, int value) {
    return Command.newBuilder().setSetCheckpoint(SetCheckpoint.newBuilder()
        .setWorkflowId(id).setKey(key).setSeq(seq).setValue(json(value)).setOwnerTerm(TERM)).build();
  }

  static Command end(String id, int result) {
    return Command.newBuilder().setWorkflowEnd(WorkflowEnd.newBuilder()
        .setWorkflowId(id).setOwnerTerm(TERM).setResult(json(result)).setEndedAtMillis(1_764_000_000_050L)).build();
  }

  /** seq10 with input n: start, the 10 checkpoints of key "step" (seq 0..9), end. */
  static List<Command> seq10(String id, int n) {
    List<Command> commands = new ArrayList<>(12);
    commands.add(start(id, n));
    int value = n;
    for (int i = 1; i <= 10; i++) {
      value += i;
      commands.add(checkpoint(id, "step", i - 1, value));
    }
    commands.add(end(id, value));
    return commands;
  }
}
