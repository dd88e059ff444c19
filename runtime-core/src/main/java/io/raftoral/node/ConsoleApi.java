package io.raftoral.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import com.sun.net.httpserver.HttpExchange;
import io.grpc.Status;
import io.raftoral.common.Errors;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.HistoryPage;
import io.raftoral.common.HistoryQuery;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.proto.client.ListRequest;
import io.raftoral.proto.client.MemberLag;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ExecutionGroupInfo;
import io.raftoral.runtime.NodeRuntime;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The console's JSON API (docs/OPERATIONS.md, "The console's API"), under {@code /api/v1}: the
 * node's own calls, answered with the client API's messages in proto3's JSON mapping where one
 * fits (a list page, a workflow's info, the cluster), and payloads as text. A call's error is
 * the HTTP status of its gRPC code (as grpc-gateway maps them) with {@code {"error", "code"}}.
 */
final class ConsoleApi {
  static final String PREFIX = "/api/v1/";
  /** A terminate must carry this header: a page of another origin cannot send it without the node's consent (CORS). */
  static final String CONSOLE_HEADER = "X-Raftoral-Console";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonFormat.Printer PROTO_JSON = JsonFormat.printer().omittingInsignificantWhitespace();
  private static final int MAX_BODY_BYTES = 64 * 1024;
  // A member its group's leader has not heard from for this long is shown down.
  private static final long DOWN_AFTER_MILLIS = 5_000;

  private final Supplier<NodeRuntime> runtime;
  private final ActivityHistory activity;

  ConsoleApi(Supplier<NodeRuntime> runtime, ActivityHistory activity) {
    this.runtime = runtime;
    this.activity = activity;
  }

  /** Whether {@code path} (raw) is a terminate: {@code /api/v1/workflows/{id}/terminate}. */
  static boolean isTerminate(String path) {
    String[] parts = path.startsWith(PREFIX) ? path.substring(PREFIX.length()).split("/", -1) : new String[0];
    return parts.length == 3 && parts[0].equals("workflows") && !parts[1].isEmpty() && parts[2].equals("terminate");
  }

  /** Whether {@code method} may be used on {@code path} (the one write is a terminate, which is only a POST). */
  static boolean allows(String method, String path) {
    if (isTerminate(path)) {
      return method.equals("POST");
    }
    return method.equals("GET") || method.equals("HEAD");
  }

  void handle(HttpExchange exchange, String path) throws IOException {
    List<String> parts = List.of(path.substring(PREFIX.length()).split("/", -1));
    NodeRuntime r = runtime.get();
    JsonNode body;
    try {
      Map<String, List<String>> query = query(exchange.getRequestURI().getRawQuery());
      body = switch (parts.size() + ":" + parts.get(0)) {
        case "1:workflows" -> list(r, query);
        case "1:counts" -> counts(r);
        case "1:cluster" -> cluster(r);
        case "1:activity" -> activity();
        case "2:workflows" -> detail(r, decodeSegment(parts.get(1)));
        case "3:workflows" -> switch (parts.get(2)) {
          case "history" -> history(r, decodeSegment(parts.get(1)), query);
          case "terminate" -> terminate(exchange, r, decodeSegment(parts.get(1)));
          default -> throw notFound(path);
        };
        default -> throw notFound(path);
      };
    } catch (RuntimeException e) {
      if (e instanceof MethodNotAllowed) {
        exchange.getResponseHeaders().set("Allow", "POST");
      }
      HttpEndpoint.json(exchange, httpStatus(e), error(e));
      return;
    }
    HttpEndpoint.json(exchange, 200, body);
  }

  // ---- workflows ----

  private static JsonNode list(NodeRuntime r, Map<String, List<String>> q) {
    ListRequest.Builder request = ListRequest.newBuilder();
    // status may repeat, or list several values separated by commas.
    List<String> statuses = all(q, "status").stream().flatMap(v -> java.util.Arrays.stream(v.split(",")))
        .filter(v -> !v.isEmpty()).toList();
    for (String status : statuses) {
      try {
        request.addStatuses(io.raftoral.proto.client.WorkflowStatus.valueOf(status.toUpperCase(Locale.ROOT)));
      } catch (IllegalArgumentException e) {
        throw new Errors.InvalidArgumentException("status must be RUNNING, COMPLETED, FAILED or TERMINATED, got '" + status + "'");
      }
    }
    request.setType(one(q, "type", ""));
    request.setVersion(number(q, "version", 0));
    request.setStartedAfterMillis(instant(q, "startedAfter"));
    request.setStartedBeforeMillis(instant(q, "startedBefore"));
    request.setLimit(number(q, "limit", 0));
    request.setPageToken(one(q, "pageToken", ""));
    return proto(ApiProtos.toProto(r.list(ApiProtos.fromProto(request.build()))));
  }

  private static JsonNode counts(NodeRuntime r) {
    ObjectNode counts = JSON.createObjectNode();
    Map<WorkflowStatus, Long> byStatus = r.countsByStatus();
    for (WorkflowStatus s : WorkflowStatus.values()) {
      counts.put(s.name(), byStatus.getOrDefault(s, 0L));
    }
    return counts;
  }

  private static JsonNode detail(NodeRuntime r, String workflowId) {
    NodeRuntime.Detail d = r.detail(workflowId);
    ObjectNode body = JSON.createObjectNode();
    body.set("info", proto(ApiProtos.toProto(d.info())));
    body.set("input", payload(d.input()));
    body.set("result", d.result() == null ? null : payload(d.result()));
    return body;
  }

  private static JsonNode history(NodeRuntime r, String workflowId, Map<String, List<String>> q) {
    HistoryPage page = r.history(workflowId, new HistoryQuery(emptyToNull(one(q, "key", "")),
        number(q, "limit", HistoryQuery.DEFAULT_LIMIT), emptyToNull(one(q, "pageToken", ""))));
    ObjectNode body = JSON.createObjectNode();
    ArrayNode entries = body.putArray("entries");
    for (HistoryEntry e : page.entries()) {
      ObjectNode entry = entries.addObject().put("key", e.key()).put("seq", e.seq());
      entry.set("value", payload(e.value()));
      entry.put("committedAtMillis", e.committedAt().toEpochMilli())
          .put("ownerNode", e.ownerNode()).put("ownerTerm", e.ownerTerm());
    }
    body.put("nextPageToken", page.nextPageToken() == null ? "" : page.nextPageToken());
    return body;
  }

  private static JsonNode terminate(HttpExchange exchange, NodeRuntime r, String workflowId) throws IOException {
    if (!exchange.getRequestMethod().equals("POST")) {
      throw new MethodNotAllowed("a terminate is a POST");
    }
    if (exchange.getRequestHeaders().getFirst(CONSOLE_HEADER) == null) {
      throw new Forbidden("a terminate needs the " + CONSOLE_HEADER + " header (the console sends it; other sites' pages cannot)");
    }
    JsonNode request;
    try (InputStream in = exchange.getRequestBody()) {
      byte[] bytes = in.readNBytes(MAX_BODY_BYTES + 1);
      if (bytes.length > MAX_BODY_BYTES) {
        throw new Errors.InvalidArgumentException("the request body is over " + MAX_BODY_BYTES + " bytes");
      }
      request = JSON.readTree(bytes);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new Errors.InvalidArgumentException("the body must be JSON {\"reason\": \"...\"}: " + e.getOriginalMessage());
    }
    if (request == null || !request.path("reason").isTextual()) {
      throw new Errors.InvalidArgumentException("the body must be JSON {\"reason\": \"...\"}");
    }
    return proto(ApiProtos.toProto(r.terminate(workflowId, request.get("reason").asText())));
  }

  // ---- the cluster ----

  private static JsonNode cluster(NodeRuntime r) {
    ClusterInfoReply info = r.clusterInfo(false, true);
    ObjectNode body = (ObjectNode) proto(info);
    body.put("answeredBy", r.nodeId());
    body.put("version", NodeRuntime.version());
    // Up or down, as the groups' leaders see their members: the longest silence of each node.
    Map<Long, Long> silence = new HashMap<>();
    Map<Long, List<String>> leads = new HashMap<>();
    for (ExecutionGroupInfo g : info.getExecutionGroupsList()) {
      if (g.getLeaderNode() != 0) {
        leads.computeIfAbsent(g.getLeaderNode(), k -> new ArrayList<>()).add(Integer.toString(g.getIndex()));
        silence.merge(g.getLeaderNode(), 0L, Math::min);
      }
      for (MemberLag m : g.getMemberLagList()) {
        if (m.getNodeId() != g.getLeaderNode()) {
          silence.merge(m.getNodeId(), m.getMillisSinceContact(), Math::min);
        }
      }
    }
    silence.put(r.nodeId(), 0L);
    // This node's replicas: applied index and log size per group it hosts.
    ObjectNode replicas = body.putObject("replicasHere");
    r.replicaStats().forEach((group, s) -> replicas.putObject(group).put("appliedIndex", s.appliedIndex())
        .put("commitIndex", s.commitIndex()).put("logEntries", s.logEntries()).put("term", s.term()));
    Map<Long, String> versions = new HashMap<>();
    r.topology().getNodesList().forEach(n -> versions.put(n.getNodeId(), n.getVersion()));
    ArrayNode health = body.putArray("nodeHealth");
    for (var n : info.getNodesList()) {
      Long quiet = silence.get(n.getNodeId());
      health.addObject().put("nodeId", n.getNodeId()).put("up", quiet != null && quiet < DOWN_AFTER_MILLIS)
          .put("millisSinceContact", quiet == null ? -1 : quiet)
          .put("leads", String.join(",", leads.getOrDefault(n.getNodeId(), List.of())))
          .put("version", versions.getOrDefault(n.getNodeId(), ""));
    }
    return body;
  }

  private JsonNode activity() {
    ObjectNode body = JSON.createObjectNode().put("intervalMillis", ActivityHistory.INTERVAL_MILLIS);
    ArrayNode samples = body.putArray("samples");
    for (ActivityHistory.Sample s : activity.samples()) {
      samples.addObject().put("atMillis", s.atMillis()).put("commitIndexes", s.commitIndexes()).put("started", s.started())
          .put("ended", s.ended());
    }
    return body;
  }

  // ---- values ----

  /** A payload as the console shows it: its text when it is UTF-8 (JSON by default), else base64 marked as such. */
  private static JsonNode payload(byte[] bytes) {
    try {
      String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
      return JSON.createObjectNode().put("text", text);
    } catch (CharacterCodingException e) {
      return JSON.createObjectNode().put("base64", Base64.getEncoder().encodeToString(bytes));
    }
  }

  private static JsonNode proto(MessageOrBuilder message) {
    try {
      return JSON.readTree(PROTO_JSON.print(message));
    } catch (InvalidProtocolBufferException | com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("cannot print " + message.getClass().getSimpleName() + " as JSON", e);
    }
  }

  // ---- requests ----

  /** The query's parameters by name, each value decoded as a form value ('+' is a space); empty values left out. */
  private static Map<String, List<String>> query(String raw) {
    Map<String, List<String>> q = new LinkedHashMap<>();
    if (raw == null || raw.isEmpty()) {
      return q;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      String name = decode(eq < 0 ? pair : pair.substring(0, eq));
      String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
      if (!value.isEmpty()) {
        q.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
      }
    }
    return q;
  }

  /** A path segment: percent-decoded, a '+' stays a '+' (only form values use it for a space). */
  private static String decodeSegment(String s) {
    return decode(s.replace("+", "%2B"));
  }

  private static String decode(String s) {
    try {
      return URLDecoder.decode(s, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new Errors.InvalidArgumentException("bad percent-encoding in '" + s + "'");
    }
  }

  private static List<String> all(Map<String, List<String>> q, String name) {
    return q.getOrDefault(name, List.of());
  }

  private static String one(Map<String, List<String>> q, String name, String otherwise) {
    List<String> values = all(q, name);
    if (values.size() > 1) {
      throw new Errors.InvalidArgumentException(name + " is given more than once");
    }
    return values.isEmpty() ? otherwise : values.get(0);
  }

  private static int number(Map<String, List<String>> q, String name, int otherwise) {
    String v = one(q, name, null);
    try {
      return v == null ? otherwise : Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new Errors.InvalidArgumentException(name + " must be a number, got '" + v + "'");
    }
  }

  /** An ISO-8601 instant ({@code 2026-12-06T10:00:00Z}) or epoch milliseconds; 0 when absent. */
  private static long instant(Map<String, List<String>> q, String name) {
    String v = one(q, name, null);
    if (v == null) {
      return 0;
    }
    try {
      return v.chars().allMatch(Character::isDigit) ? Long.parseLong(v) : Instant.parse(v).toEpochMilli();
    } catch (NumberFormatException | java.time.DateTimeException | ArithmeticException e) {
      // ArithmeticException: a valid instant too far from 1970 for epoch milliseconds.
      throw new Errors.InvalidArgumentException(name + " must be an ISO-8601 instant or epoch milliseconds within ±292 million "
          + "years, got '" + v + "'");
    }
  }

  private static String emptyToNull(String s) {
    return s.isEmpty() ? null : s;
  }

  // ---- errors ----

  private static RuntimeException notFound(String path) {
    return new NotFound("no such call: " + path + " (docs/OPERATIONS.md lists the console's API)");
  }

  private static final class NotFound extends RuntimeException {
    NotFound(String message) {
      super(message);
    }
  }

  private static final class Forbidden extends RuntimeException {
    Forbidden(String message) {
      super(message);
    }
  }

  private static final class MethodNotAllowed extends RuntimeException {
    MethodNotAllowed(String message) {
      super(message);
    }
  }

  /** The HTTP status of an error: its gRPC code's, as grpc-gateway maps them. */
  static int httpStatus(RuntimeException e) {
    if (e instanceof NotFound) {
      return 404;
    } else if (e instanceof Forbidden) {
      return 403;
    } else if (e instanceof MethodNotAllowed) {
      return 405;
    }
    return switch (ApiStatuses.toStatus(e).getStatus().getCode()) {
      case INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE -> 400;
      case UNAUTHENTICATED -> 401;
      case PERMISSION_DENIED -> 403;
      case NOT_FOUND -> 404;
      case ALREADY_EXISTS, ABORTED -> 409;
      case RESOURCE_EXHAUSTED -> 429;
      case CANCELLED -> 499;
      case UNIMPLEMENTED -> 501;
      case UNAVAILABLE -> 503;
      case DEADLINE_EXCEEDED -> 504;
      default -> 500;
    };
  }

  private static ObjectNode error(RuntimeException e) {
    ObjectNode body = JSON.createObjectNode().put("error", String.valueOf(e.getMessage()));
    if (e instanceof io.raftoral.common.RaftoralException re) {
      body.put("code", re.code().name());
    } else if (!(e instanceof NotFound || e instanceof Forbidden || e instanceof MethodNotAllowed)) {
      Status s = ApiStatuses.toStatus(e).getStatus();
      body.put("code", s.getCode().name());
    }
    return body;
  }
}
