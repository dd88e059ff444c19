package io.raftoral.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import io.raftoral.api.WorkflowJson;
import io.raftoral.client.RaftoralClient;
import io.raftoral.common.Errors;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.HistoryPage;
import io.raftoral.common.HistoryQuery;
import io.raftoral.common.ReplayReport;
import io.raftoral.common.ListQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The client commands: start, result, describe, list, history, replay, terminate, cluster. */
final class WorkflowCommands {
  private WorkflowCommands() {}

  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  /**
   * Waits for the workflow for what is left of the command's {@code timeout} (a start before it
   * took its share); a timeout says how to keep waiting.
   */
  static RaftoralClient.Outcome await(RaftoralClient client, String id, Duration timeout) {
    try {
      Duration left = ClientCommand.remaining(timeout);
      if (left.toMillis() <= 0) {
        throw new Errors.TimeoutException("no time left");
      }
      return client.await(id, left);
    } catch (Errors.TimeoutException e) {
      throw new Errors.TimeoutException("workflow " + id + " did not finish within " + Converters.format(timeout)
          + "; it may still finish: raftoral result " + id);
    }
  }

  /** Prints a final workflow; the exit code says whether it COMPLETED. */
  static int report(ClientCommand command, Printer printer, RaftoralClient.Outcome outcome) {
    WorkflowInfo info = outcome.info();
    String text = info.status() == WorkflowStatus.COMPLETED
        ? new String(outcome.result(), StandardCharsets.UTF_8) : Printer.infoText(info);
    if (info.status() == WorkflowStatus.COMPLETED) {
      printer.print(Printer.outcome(outcome), text);
      return ExitCode.OK;
    }
    if (printer.json()) {
      printer.print(Printer.outcome(outcome), text);
    }
    command.error(Printer.notCompleted(info));
    return ExitCode.FAILED;
  }

  @Command(name = "start", sortOptions = false,
      description = {"Start a workflow and print its id; with --wait, wait and print its result.",
          "Exit 0 when it COMPLETED, 1 when it FAILED or was TERMINATED, 4 on timeout."})
  static final class Start extends ClientCommand {
    @Parameters(index = "0", paramLabel = "TYPE", description = "The workflow type, e.g. ping_pong.")
    String type;

    @Option(names = "--version", required = true, paramLabel = "V", description = "The workflow version, >= 1.")
    int version;

    @Option(names = "--input", paramLabel = "JSON",
        description = "The input as JSON, e.g. '\"ping\"' or '{\"n\":3}'; - reads it from standard input.")
    String input;

    @Option(names = "--input-file", paramLabel = "PATH",
        description = "Read the input JSON from this file (for an input too large for a command line).")
    Path inputFile;

    @Option(names = "--id", paramLabel = "ID", description = "The workflow id (default: a generated UUID). Starting an existing id with the same type, version and input is a no-op.")
    String id;

    @Option(names = "--wait", description = "Wait for the workflow to finish and print its result.")
    boolean await;

    @Option(names = "--timeout", paramLabel = "D",
        description = "How long the whole command may take, the start included, e.g. 30s, 500ms, 2m (default with --wait: 30s).")
    Duration timeout;

    /** The input as sent: the JSON text's UTF-8 bytes, without surrounding whitespace. */
    private byte[] inputBytes;

    @Override
    void validate() {
      if (version < 1) {
        throw usage("--version must be >= 1, got " + version);
      }
      if (type.isBlank()) {
        throw usage("TYPE must not be empty");
      }
      if (id != null && id.isBlank()) {
        throw usage("--id must not be blank");
      }
      inputBytes = readInput();
    }

    /** The input from --input, standard input (--input -) or --input-file, checked to be one JSON value. */
    private byte[] readInput() {
      if (input != null && inputFile != null) {
        throw usage("--input and --input-file are mutually exclusive: give the input once");
      }
      if (input == null && inputFile == null) {
        throw usage("the input is required: --input JSON, --input - (standard input) or --input-file PATH");
      }
      String source;
      String text;
      if (inputFile != null) {
        source = "--input-file " + inputFile;
        text = utf8(source, readFile(inputFile));
      } else if (input.equals("-")) {
        source = "the input on standard input";
        try {
          text = utf8(source, System.in.readAllBytes());
        } catch (IOException e) {
          throw usage("cannot read standard input: " + e.getMessage());
        }
      } else {
        source = "--input";
        text = input;
      }
      // A file's final newline (and any whitespace around the value) is not part of the input:
      // the same JSON gives the same bytes, whichever way it came, so a retry with --id matches.
      text = text.strip();
      if (text.isEmpty()) {
        throw usage(source + " must be JSON, got an empty value (use null for no input)");
      }
      try {
        // One JSON value, nothing after it; the bytes sent are that text, unchanged.
        Printer.JSON.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).readTree(text);
      } catch (JsonProcessingException e) {
        throw usage(source + " is not valid JSON: " + e.getOriginalMessage()
            + (inputFile == null && !input.equals("-") ? " (quote strings: --input '\"ping\"')" : ""));
      }
      return text.getBytes(StandardCharsets.UTF_8);
    }

    private byte[] readFile(Path file) {
      if (Files.isDirectory(file)) {
        throw usage("--input-file: " + file + " is a directory");
      }
      try {
        return Files.readAllBytes(file);
      } catch (NoSuchFileException e) {
        throw usage("--input-file: no such file: " + file);
      } catch (IOException e) {
        throw usage("--input-file: cannot read " + file + ": " + e);
      }
    }

    private String utf8(String source, byte[] bytes) {
      try {
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
      } catch (CharacterCodingException e) {
        throw usage(source + " is not UTF-8 text, so not JSON");
      }
    }

    @Override
    Duration timeout() {
      return timeout != null ? timeout : await ? DEFAULT_TIMEOUT : null;
    }

    @Override
    int run(RaftoralClient client, Printer printer) {
      RaftoralClient.Started started = start(client);
      if (!await) {
        var json = Printer.JSON.createObjectNode()
            .put("workflowId", started.workflowId()).put("executionGroup", started.executionGroup());
        printer.print(json, started.workflowId());
        return ExitCode.OK;
      }
      return report(this, printer, await(client, started.workflowId(), timeout()));
    }

    private RaftoralClient.Started start(RaftoralClient client) {
      try {
        return client.start(type, version, inputBytes, id);
      } catch (Errors.TimeoutException e) {
        Duration bound = timeout() != null ? timeout() : RaftoralClient.DEFAULT_CALL_TIMEOUT;
        throw new Errors.TimeoutException("the start of " + (id != null ? "workflow " + id : type + "@v" + version)
            + " was not answered within " + Converters.format(bound) + " by node " + client.address()
            + " (does the cluster have a quorum?); it may still be committed: "
            + (id != null ? "raftoral describe " + id : "give an --id to make a retry safe"));
      }
    }
  }

  @Command(name = "result", description = {"Wait for a workflow to finish and print its result.",
      "Exit 0 when it COMPLETED, 1 when it FAILED or was TERMINATED, 4 on timeout."})
  static final class Result extends ClientCommand {
    @Parameters(index = "0", paramLabel = "ID", description = "The workflow id.")
    String id;

    @Option(names = "--timeout", paramLabel = "D", description = "How long to wait, e.g. 30s, 500ms, 2m (default 30s).")
    Duration timeout = DEFAULT_TIMEOUT;

    @Override
    void validate() {
      if (id.isBlank()) {
        throw usage("ID must not be empty");
      }
    }

    @Override
    Duration timeout() {
      return timeout;
    }

    @Override
    int run(RaftoralClient client, Printer printer) {
      return report(this, printer, await(client, id, timeout));
    }
  }

  @Command(name = "describe", description = "Print a workflow's status, owner, group, times, checkpoint count and error.")
  static final class Describe extends ClientCommand {
    @Parameters(index = "0", paramLabel = "ID", description = "The workflow id.")
    String id;

    @Override
    void validate() {
      if (id.isBlank()) {
        throw usage("ID must not be empty");
      }
    }

    @Override
    int run(RaftoralClient client, Printer printer) {
      WorkflowInfo info = client.describe(id);
      printer.print(Printer.info(info), Printer.infoText(info));
      return ExitCode.OK;
    }
  }

  @Command(name = "list", sortOptions = false, description = "List workflows across every execution group, oldest first, one page at a time.")
  static final class ListWorkflows extends ClientCommand {
    @Option(names = "--status", paramLabel = "S", split = ",",
        description = "Only these statuses (repeat or comma-separate): ${COMPLETION-CANDIDATES}.")
    List<WorkflowStatus> statuses = List.of();

    @Option(names = "--type", paramLabel = "T", description = "Only this workflow type.")
    String type;

    @Option(names = "--version", paramLabel = "V", description = "With --type: only this version.")
    Integer version;

    @Option(names = "--started-after", paramLabel = "TS", description = "Started at or after this ISO-8601 instant, e.g. 2025-01-31T12:00:00Z.")
    Instant startedAfter;

    @Option(names = "--started-before", paramLabel = "TS", description = "Started before this ISO-8601 instant.")
    Instant startedBefore;

    @Option(names = "--limit", paramLabel = "N", description = "Page size, 1..1000 (default ${DEFAULT-VALUE}).")
    int limit = ListQuery.DEFAULT_LIMIT;

    @Option(names = "--page-token", paramLabel = "P", description = "The token a previous page printed, for the next page.")
    String pageToken;

    private ListQuery query;

    @Override
    void validate() {
      if (version != null && type == null) {
        throw usage("--version needs --type");
      }
      if (version != null && version < 1) {
        throw usage("--version must be >= 1, got " + version);
      }
      if (limit < 1 || limit > ListQuery.MAX_LIMIT) {
        throw usage("--limit must be between 1 and " + ListQuery.MAX_LIMIT + ", got " + limit);
      }
      try {
        query = new ListQuery(statuses.isEmpty() ? EnumSet.noneOf(WorkflowStatus.class) : EnumSet.copyOf(statuses),
            type, version == null ? 0 : version, startedAfter, startedBefore, limit, pageToken);
      } catch (Errors.InvalidArgumentException e) {
        throw usage(e.getMessage().replace("startedAfter", "--started-after").replace("startedBefore", "--started-before"));
      }
    }

    @Override
    int run(RaftoralClient client, Printer printer) {
      var page = client.list(query);
      printer.print(Printer.page(page), Printer.pageText(page));
      return ExitCode.OK;
    }
  }

  @Command(name = "history", sortOptions = false, description = {
      "Print a workflow's committed checkpoints: seq, key, value (cut to " + Printer.VALUE_PREVIEW + " characters), size,",
      "when it was committed and which node owned the workflow then. Every key in the order",
      "the values were committed, or one key in seq order. Reads every page unless --limit.",
      "With --output json: every field, the value as JSON (or valueBase64 when it is not JSON)."})
  static final class History extends ClientCommand {
    @Parameters(index = "0", paramLabel = "ID", description = "The workflow id.")
    String id;

    @Option(names = "--key", paramLabel = "K", description = "Only this checkpoint key, in seq order.")
    String key;

    @Option(names = "--limit", paramLabel = "N", description = "Print one page of at most N entries (1..1000) and the next page's token.")
    Integer limit;

    @Option(names = "--page-token", paramLabel = "P", description = "The token a previous page printed, for the next page.")
    String pageToken;

    private HistoryQuery query;

    @Override
    void validate() {
      if (id.isBlank()) {
        throw usage("ID must not be empty");
      }
      if (key != null && key.isEmpty()) {
        throw usage("--key must not be empty (leave it out for every key)");
      }
      if (limit != null && (limit < 1 || limit > HistoryQuery.MAX_LIMIT)) {
        throw usage("--limit must be between 1 and " + HistoryQuery.MAX_LIMIT + ", got " + limit);
      }
      try {
        query = new HistoryQuery(key, limit == null ? HistoryQuery.DEFAULT_LIMIT : limit, pageToken);
      } catch (Errors.InvalidArgumentException e) {
        throw usage(e.getMessage());
      }
    }

    @Override
    int run(RaftoralClient client, Printer printer) {
      List<HistoryEntry> entries = new java.util.ArrayList<>();
      HistoryQuery q = query;
      String next;
      while (true) {
        HistoryPage page = client.history(id, q);
        entries.addAll(page.entries());
        next = page.nextPageToken();
        if (next == null || limit != null) {
          break; // --limit: one page, and its token for the next
        }
        q = q.after(next);
      }
      printer.print(WorkflowJson.history(id, entries, next), Printer.historyText(id, entries, next));
      return ExitCode.OK;
    }
  }

  @Command(name = "replay", description = {
      "Replay a workflow on the node: it runs the workflow function it has registered for the",
      "workflow's type and version, read-only, against the recorded input and checkpoint history",
      "(no side effect runs, nothing is written), and reports whether the code matches the history",
      "or the first step where it diverges. Exits " + ExitCode.DIVERGED + " on a divergence."})
  static final class Replay extends ClientCommand {
    @Parameters(index = "0", paramLabel = "ID", description = "The workflow id.")
    String id;

    @Override
    void validate() {
      if (id.isBlank()) {
        throw usage("ID must not be empty");
      }
    }

    @Override
    int run(RaftoralClient client, Printer printer) {
      ReplayReport report = client.replay(id);
      printer.print(Printer.replay(report), Printer.replayText(report));
      return report.matches() ? ExitCode.OK : ExitCode.DIVERGED;
    }
  }

  @Command(name = "terminate", description = {"Terminate a running workflow; a finished one is left as it is.",
      "Prints the workflow's status after the call."})
  static final class Terminate extends ClientCommand {
    @Parameters(index = "0", paramLabel = "ID", description = "The workflow id.")
    String id;

    @Option(names = "--reason", required = true, paramLabel = "TEXT", description = "Why; recorded with the workflow.")
    String reason;

    @Override
    void validate() {
      if (id.isBlank()) {
        throw usage("ID must not be empty");
      }
      if (reason.isBlank()) {
        throw usage("--reason must not be empty");
      }
    }

    @Override
    int run(RaftoralClient client, Printer printer) {
      WorkflowInfo info = client.terminate(id, reason);
      String text = info.status() == WorkflowStatus.TERMINATED
          ? "workflow " + id + " TERMINATED: " + info.errorMessage().orElse(reason)
          : "workflow " + id + " had already finished: " + info.status();
      printer.print(Printer.info(info), text);
      return ExitCode.OK;
    }
  }

  @Command(name = "cluster", description = "Print the cluster's members (node ids, addresses, roles) and its execution groups: size, members, leader, preferred leader, running workflows, each member's lag, and whether open, merging or retired.")
  static final class Cluster extends ClientCommand {
    @Override
    int run(RaftoralClient client, Printer printer) {
      var info = client.clusterInfo(io.raftoral.proto.client.ClusterInfoRequest.newBuilder().setGroupStatus(true).build());
      printer.print(Printer.cluster(info), Printer.clusterText(info));
      return ExitCode.OK;
    }
  }
}
