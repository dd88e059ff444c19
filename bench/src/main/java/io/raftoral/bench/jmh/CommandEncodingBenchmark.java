package io.raftoral.bench.jmh;

import com.google.protobuf.InvalidProtocolBufferException;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandBatch;
import io.raftoral.proto.raft.SetCheckpoint;
import java.nio.ByteBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/**
 * Command encoding: one Raft entry, a {@link CommandBatch} of N {@link SetCheckpoint} commands
 * (N = 1 is the idle path, one command per entry; 128 a full batch at C = 128), built and
 * serialized as {@code Proposer} does, and parsed back as {@code WorkflowStateMachine} does
 * (from the read-only buffer of Ratis's ByteString) or from a byte array. Time per entry.
 */
public class CommandEncodingBenchmark extends MicroBenchmark {
  @Param({"1", "128"})
  int commands;

  private String[] ids;
  private byte[] encoded;

  @Setup
  public void setUp() {
    ids = new String[commands];
    for (int i = 0; i < commands; i++) {
      ids[i] = Commands.workflowId(i);
    }
    encoded = encode();
  }

  /** Builds the N commands (as each run does) and the entry around them, then serializes it. */
  @Benchmark
  public byte[] encode() {
    CommandBatch.Builder batch = CommandBatch.newBuilder();
    for (int i = 0; i < commands; i++) {
      batch.addCommands(Command.newBuilder().setSetCheckpoint(SetCheckpoint.newBuilder()
          .setWorkflowId(ids[i]).setKey("step").setSeq(i % 10).setValue(Commands.json(56 + i)).setOwnerTerm(Commands.TERM)));
    }
    return batch.build().toByteArray();
  }

  /** As the state machine decodes an entry: {@code parseFrom(byteString.asReadOnlyByteBuffer())}. */
  @Benchmark
  public CommandBatch decodeReadOnlyBuffer() throws InvalidProtocolBufferException {
    return CommandBatch.parseFrom(ByteBuffer.wrap(encoded).asReadOnlyBuffer());
  }

  /** The same entry parsed from a byte array. */
  @Benchmark
  public CommandBatch decodeByteArray() throws InvalidProtocolBufferException {
    return CommandBatch.parseFrom(encoded);
  }
}
