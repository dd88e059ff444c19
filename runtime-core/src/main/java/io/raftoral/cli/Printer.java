package io.raftoral.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftoral.api.WorkflowJson;
import io.raftoral.client.RaftoralClient;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.ListPage;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ExecutionGroupInfo;
import io.raftoral.proto.client.MemberLag;
import io.raftoral.proto.client.NodeInfo;
import io.raftoral.proto.client.RemovedNodeInfo;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.stream.Collectors;

/**
 * Turns answers into the command's output: text for people, or exactly one JSON object (one line)
 * for scripts. Both formats carry the same fields.
 */
final class Printer {
  static final ObjectMapper JSON = new ObjectMapper();

  private final PrintWriter out;
  private final OutputFormat format;

  Printer(PrintWriter out, OutputFormat format) {
    this.out = out;
    this.format = format;
  }

  boolean json() {
    return format == OutputFormat.json;
  }

  void print(JsonNode json, String text) {
    out.println(json() ? write(json) : text);
    out.flush();
  }

  static String write(JsonNode json) {
    try {
      return JSON.writeValueAsString(json);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  // --- workflows ---

  static ObjectNode info(WorkflowInfo i) {
    return WorkflowJson.info(i);
  }

  static String infoText(WorkflowInfo i) {
    StringBuilder b = new StringBuilder();
    row(b, "workflow", i.workflowId());
    row(b, "type", i.type().name() + " v" + i.type().version());
    row(b, "status", i.status().name());
    row(b, "owner", "node " + i.ownerNode());
    row(b, "group", i.executionGroup());
    row(b, "started at", String.valueOf(i.startedAt()));
    row(b, "ended at", i.endedAt().map(Object::toString).orElse("-"));
    row(b, "checkpoints", Long.toString(i.checkpointCount()));
    switch (i.status()) {
      case FAILED -> row(b, "error", i.errorType().orElse("") + ": " + i.errorMessage().orElse(""));
      case TERMINATED -> row(b, "reason", i.errorMessage().orElse(""));
      default -> {}
    }
    return b.toString().stripTrailing();
  }

  private static void row(StringBuilder b, String key, String value) {
    b.append(String.format("%-12s %s%n", key, value));
  }

  /** The info plus the result, parsed as JSON when it is JSON (the default codec), else as a string. */
  static ObjectNode outcome(RaftoralClient.Outcome o) {
    ObjectNode n = info(o.info());
    if (o.result() != null && o.result().length > 0) {
      String text = new String(o.result(), StandardCharsets.UTF_8);
      try {
        n.set("result", JSON.readTree(text));
      } catch (JsonProcessingException notJson) {
        n.put("result", text);
      }
    } else {
      n.putNull("result");
    }
    return n;
  }

  /** Why a workflow did not complete, for stderr. */
  static String notCompleted(WorkflowInfo i) {
    return switch (i.status()) {
      case FAILED -> "workflow " + i.workflowId() + " failed: " + i.errorType().orElse("error") + ": " + i.errorMessage().orElse("");
      case TERMINATED -> "workflow " + i.workflowId() + " was terminated: " + i.errorMessage().orElse("");
      default -> "workflow " + i.workflowId() + " is " + i.status();
    };
  }

  // --- list ---

  static ObjectNode page(ListPage page) {
    return WorkflowJson.page(page);
  }

  static String pageText(ListPage page) {
    if (page.workflows().isEmpty()) {
      return "no workflows match";
    }
    StringBuilder b = new StringBuilder();
    b.append(String.format("%-38s %-20s %-11s %-6s %s%n", "WORKFLOW", "TYPE", "STATUS", "OWNER", "STARTED AT"));
    for (WorkflowInfo w : page.workflows()) {
      b.append(String.format("%-38s %-20s %-11s %-6s %s%n", w.workflowId(), w.type().name() + " v" + w.type().version(),
          w.status(), w.ownerNode(), w.startedAt()));
    }
    if (page.nextPageToken() != null) {
      b.append("more: --page-token ").append(page.nextPageToken()).append('\n');
    }
    return b.toString().stripTrailing();
  }

  // --- history ---

  /** How many characters of a value the timeline shows. */
  static final int VALUE_PREVIEW = 40;

  static String historyText(String workflowId, java.util.List<HistoryEntry> entries, String nextPageToken) {
    if (entries.isEmpty()) {
      return "workflow " + workflowId + " has no committed checkpoints" + (nextPageToken == null ? "" : " on this page");
    }
    StringBuilder b = new StringBuilder();
    String format = "%-5s %-16s %-" + (VALUE_PREVIEW + 2) + "s %8s  %-24s %s%n";
    b.append(String.format(format, "SEQ", "KEY", "VALUE", "SIZE", "COMMITTED AT", "OWNER"));
    for (HistoryEntry e : entries) {
      b.append(String.format(format, e.seq(), oneLine(e.key()), preview(e.value()), e.value().length + " B",
          e.infoKnown() ? e.committedAt().toString() : "-",
          e.infoKnown() ? "node " + e.ownerNode() + " (term " + e.ownerTerm() + ")" : "-"));
    }
    if (nextPageToken != null) {
      b.append("more: --page-token ").append(nextPageToken).append('\n');
    }
    return b.toString().stripTrailing();
  }

  /** The value as text on one line, cut to {@link #VALUE_PREVIEW} characters; bytes that are not UTF-8 show as their size only. */
  static String preview(byte[] value) {
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(value)).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      return "(binary)";
    }
    text = oneLine(text);
    if (text.codePointCount(0, text.length()) <= VALUE_PREVIEW) {
      return text;
    }
    // Cut between code points: a cut inside a surrogate pair would print half a character.
    return text.substring(0, text.offsetByCodePoints(0, VALUE_PREVIEW - 3)) + "...";
  }

  /**
   * Text a workflow wrote (a checkpoint key or value) made safe for one row of the timeline:
   * every control character (a newline would forge a row, an ESC would send the terminal a
   * command) shows as a space.
   */
  static String oneLine(String text) {
    return text.codePoints().map(c -> Character.isISOControl(c) ? ' ' : c)
        .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
  }

  // --- replay ---

  static ObjectNode replay(io.raftoral.common.ReplayReport r) {
    ObjectNode n = JSON.createObjectNode();
    n.put("workflowId", r.workflowId());
    n.put("type", r.type().name());
    n.put("version", r.type().version());
    n.put("status", r.status().name());
    n.put("matches", r.matches());
    n.put("stepsReplayed", r.stepsReplayed());
    n.put("recordedSteps", r.recordedSteps());
    n.put("endOfHistory", r.endOfHistory());
    io.raftoral.common.ReplayReport.Divergence d = r.divergence();
    if (d == null) {
      n.putNull("divergence");
    } else {
      ObjectNode o = n.putObject("divergence");
      o.put("step", d.step());
      o.put("reason", d.reason().name());
      if (d.key().isEmpty()) {
        o.putNull("key");
      } else {
        o.put("key", d.key());
      }
      o.put("seq", d.seq());
      o.put("expected", d.expected());
      o.put("got", d.got());
      o.put("message", d.message());
    }
    ArrayNode notes = n.putArray("notes");
    for (io.raftoral.common.ReplayReport.Note note : r.notes()) {
      ObjectNode o = notes.addObject();
      o.put("step", note.step());
      o.put("kind", note.kind().name());
      o.put("key", note.key());
      o.put("seq", note.seq());
      o.put("message", note.message());
    }
    return n;
  }

  /** The notes of a replay, one line each ("" when none). */
  private static String replayNotes(io.raftoral.common.ReplayReport r) {
    StringBuilder out = new StringBuilder();
    for (io.raftoral.common.ReplayReport.Note note : r.notes()) {
      out.append("\n  note at step ").append(note.step()).append(" (").append(note.kind()).append(") at ").append(note.key())
          .append('#').append(note.seq()).append(": ").append(note.message());
    }
    return out.toString();
  }

  static String replayText(io.raftoral.common.ReplayReport r) {
    String what = "workflow " + r.workflowId() + " (" + r.type() + ", " + r.status() + ")";
    io.raftoral.common.ReplayReport.Divergence d = r.divergence();
    if (d == null) {
      return "matches: " + r.stepsReplayed() + " steps replayed of " + r.recordedSteps() + " recorded, " + what
          + (r.endOfHistory() ? "; reached the end of the history of the running workflow" : "") + replayNotes(r);
    }
    return "diverges at step " + d.step() + " (" + d.reason() + ")" + (d.key().isEmpty() ? "" : " at " + d.key() + "#" + d.seq())
        + ", " + what + "\n"
        + "  expected: " + d.expected() + "\n"
        + "  got:      " + d.got() + "\n"
        + "  " + d.message() + "\n"
        + r.stepsReplayed() + " steps replayed of " + r.recordedSteps() + " recorded" + replayNotes(r);
  }

  // --- cluster ---

  static ObjectNode cluster(ClusterInfoReply c) {
    ObjectNode n = JSON.createObjectNode();
    n.put("clusterId", c.getClusterId());
    n.put("answeredBy", c.getNodeId());
    n.put("managementLeader", c.getManagementLeader());
    ArrayNode nodes = n.putArray("nodes");
    for (NodeInfo node : c.getNodesList()) {
      ObjectNode e = nodes.addObject();
      e.put("nodeId", node.getNodeId());
      e.put("raftAddress", node.getRaftAddress());
      e.put("apiAddress", node.getApiAddress());
      e.put("role", roleName(node));
    }
    ArrayNode groups = n.putArray("executionGroups");
    for (ExecutionGroupInfo g : c.getExecutionGroupsList()) {
      ObjectNode e = groups.addObject();
      e.put("groupId", g.getGroupId());
      e.put("index", g.getIndex());
      ArrayNode members = e.putArray("members");
      g.getMembersList().forEach(members::add);
      e.put("leaderNode", g.getLeaderNode());
      // The Raft configuration follows `members` one change at a time; equal once a change is done.
      ArrayNode raftMembers = e.putArray("raftMembers");
      g.getRaftMembersList().forEach(raftMembers::add);
      e.put("open", g.getOpen());
      e.put("state", groupState(g));
      e.put("size", g.getMembersCount());
      e.put("preferredLeader", g.getPreferredLeader());
      // From the group's leader (GroupStatus); 0 and empty when it did not answer in time.
      e.put("runningWorkflows", g.getRunningWorkflows());
      e.put("commitIndex", g.getCommitIndex());
      ArrayNode lag = e.putArray("memberLag");
      for (MemberLag m : g.getMemberLagList()) {
        lag.addObject().put("nodeId", m.getNodeId()).put("matchIndex", m.getMatchIndex()).put("lagEntries", m.getLagEntries())
            .put("millisSinceContact", m.getMillisSinceContact());
      }
      putGroupId(e, "mergeTarget", g.getMergeTarget());
      putGroupId(e, "mergedInto", g.getMergedInto());
    }
    ArrayNode removed = n.putArray("removedNodes");
    for (RemovedNodeInfo r : c.getRemovedNodesList()) {
      ObjectNode e = removed.addObject();
      e.put("nodeId", r.getNodeId());
      e.put("raftAddress", r.getRaftAddress());
      e.put("removedAt", Instant.ofEpochMilli(r.getRemovedAtMillis()).toString());
      e.put("reason", r.getReason());
    }
    return n;
  }

  static String clusterText(ClusterInfoReply c) {
    StringBuilder b = new StringBuilder();
    b.append("cluster ").append(c.getClusterId()).append(" (answered by node ").append(c.getNodeId())
        .append("; management leader: ").append(c.getManagementLeader() == 0 ? "none" : "node " + c.getManagementLeader())
        .append(")\n");
    b.append(c.getNodesCount()).append(c.getNodesCount() == 1 ? " member:\n" : " members:\n");
    for (NodeInfo node : c.getNodesList()) {
      b.append(String.format("  node %-4d %-8s raft %-21s api %s%n", node.getNodeId(), roleName(node),
          node.getRaftAddress(), node.getApiAddress().isEmpty() ? "-" : node.getApiAddress()));
    }
    b.append(c.getExecutionGroupsCount()).append(c.getExecutionGroupsCount() == 1 ? " execution group:\n" : " execution groups:\n");
    for (ExecutionGroupInfo g : c.getExecutionGroupsList()) {
      if (!g.getMergedInto().isEmpty()) {
        b.append(String.format("  group %-3d %s retired: merged into %s%n", g.getIndex(), g.getGroupId(), groupName(c, g.getMergedInto())));
        continue;
      }
      String state = switch (groupState(g)) {
        case "merging" -> " (merging into " + groupName(c, g.getMergeTarget()) + ", closed to starts)";
        case "opening" -> " (not open to starts yet)";
        default -> "";
      };
      boolean reported = g.getMemberLagCount() > 0 || g.getCommitIndex() > 0;
      b.append(String.format("  group %-3d %s size %d members %s leader %s (preferred: %s)%s%s%n", g.getIndex(),
          g.getGroupId(), g.getMembersCount(), g.getMembersList().stream().map(String::valueOf).collect(Collectors.joining(",", "[", "]")),
          g.getLeaderNode() == 0 ? "none" : "node " + g.getLeaderNode(),
          g.getPreferredLeader() == 0 ? "any" : "node " + g.getPreferredLeader(),
          reported ? ", " + g.getRunningWorkflows() + " running" : "", state));
      if (!reported) {
        b.append("    no status from its leader\n");
      }
      for (MemberLag m : g.getMemberLagList()) {
        b.append(m.getNodeId() == g.getLeaderNode()
            ? String.format("    node %-4d leader, commit index %d%n", m.getNodeId(), g.getCommitIndex())
            : String.format("    node %-4d %d entries behind, last contact %d ms ago%n", m.getNodeId(), m.getLagEntries(),
                m.getMillisSinceContact()));
      }
    }
    if (c.getRemovedNodesCount() > 0) {
      b.append(c.getRemovedNodesCount()).append(c.getRemovedNodesCount() == 1 ? " removed node:\n" : " removed nodes:\n");
      for (RemovedNodeInfo r : c.getRemovedNodesList()) {
        b.append(String.format("  node %-4d raft %-21s at %s: %s%n", r.getNodeId(), r.getRaftAddress(),
            Instant.ofEpochMilli(r.getRemovedAtMillis()), r.getReason()));
      }
    }
    return b.toString().stripTrailing();
  }

  /** open, opening (a new group not open to starts yet), merging (into merge_target) or retired (merged_into). */
  private static String groupState(ExecutionGroupInfo g) {
    if (!g.getMergedInto().isEmpty()) {
      return "retired";
    }
    if (!g.getMergeTarget().isEmpty()) {
      return "merging";
    }
    return g.getOpen() ? "open" : "opening";
  }

  private static void putGroupId(ObjectNode e, String key, String groupId) {
    if (groupId.isEmpty()) {
      e.putNull(key);
    } else {
      e.put(key, groupId);
    }
  }

  /** "group N" for a group id of the reply, else the id itself. */
  private static String groupName(ClusterInfoReply c, String groupId) {
    return c.getExecutionGroupsList().stream().filter(g -> g.getGroupId().equals(groupId)).findFirst()
        .map(g -> "group " + g.getIndex()).orElse("group " + groupId);
  }

  private static String roleName(NodeInfo node) {
    return switch (node.getRole()) {
      case VOTER -> "VOTER";
      case LISTENER -> "LISTENER";
      case JOINING -> "JOINING";
      default -> "UNKNOWN";
    };
  }
}
