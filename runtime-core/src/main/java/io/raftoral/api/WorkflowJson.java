package io.raftoral.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftoral.common.Errors;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.ListPage;
import io.raftoral.common.ListQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * The JSON shape of workflow infos, list pages, list queries and history entries, shared by every edge that
 * speaks JSON (the CLI's {@code --output json}, the C ABI and the bindings over it).
 */
public final class WorkflowJson {
  // A key given twice, or anything after the value, is refused: which value would win, or that
  // the rest is ignored, is a parser's accident, not what was asked.
  private static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
      .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();
  // A stored value is shown, not computed with: its numbers keep their exact value (digits and
  // scale, as BigDecimal; a double would round 12345678.123456789012345678 and turn 1e400 into
  // "Infinity"). Only the notation may change (1e400 is written 1E+400).
  private static final ObjectMapper VALUES = com.fasterxml.jackson.databind.json.JsonMapper.builder()
      .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .disable(com.fasterxml.jackson.databind.cfg.JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES).build();

  private WorkflowJson() {}

  public static ObjectNode info(WorkflowInfo i) {
    ObjectNode n = JSON.createObjectNode();
    n.put("workflowId", i.workflowId());
    n.put("type", i.type().name());
    n.put("version", i.type().version());
    n.put("status", i.status().name());
    n.put("ownerNode", i.ownerNode());
    n.put("executionGroup", i.executionGroup());
    n.put("startedAt", String.valueOf(i.startedAt()));
    i.endedAt().ifPresentOrElse(t -> n.put("endedAt", t.toString()), () -> n.putNull("endedAt"));
    n.put("checkpointCount", i.checkpointCount());
    i.errorType().ifPresentOrElse(t -> n.put("errorType", t), () -> n.putNull("errorType"));
    i.errorMessage().ifPresentOrElse(t -> n.put("errorMessage", t), () -> n.putNull("errorMessage"));
    return n;
  }

  public static ObjectNode page(ListPage page) {
    ObjectNode n = JSON.createObjectNode();
    ArrayNode list = n.putArray("workflows");
    page.workflows().forEach(w -> list.add(info(w)));
    if (page.nextPageToken() == null) {
      n.putNull("nextPageToken");
    } else {
      n.put("nextPageToken", page.nextPageToken());
    }
    return n;
  }

  /**
   * One history entry: {@code key}, {@code seq}, {@code size} (bytes), the value as {@code value}
   * (the JSON itself when the bytes are JSON, as the default codec writes them) or else as
   * {@code valueBase64} (standard base64) with {@code value} null, {@code committedAt} (ISO-8601,
   * null when unknown) and {@code committedAtMillis} (0 when unknown), {@code ownerNode} and
   * {@code ownerTerm} (0 when unknown).
   */
  public static ObjectNode historyEntry(HistoryEntry e) {
    ObjectNode n = JSON.createObjectNode();
    n.put("key", e.key());
    n.put("seq", e.seq());
    byte[] value = e.value();
    n.put("size", value.length);
    JsonNode parsed = parseJson(value);
    if (parsed != null) {
      n.set("value", parsed);
    } else {
      n.putNull("value");
      n.put("valueBase64", java.util.Base64.getEncoder().encodeToString(value));
    }
    if (e.committedAt().equals(Instant.EPOCH)) {
      n.putNull("committedAt");
    } else {
      n.put("committedAt", e.committedAt().toString());
    }
    n.put("committedAtMillis", e.committedAt().toEpochMilli());
    n.put("ownerNode", e.ownerNode());
    n.put("ownerTerm", e.ownerTerm());
    return n;
  }

  /** A workflow's history (one page, or every page read): its entries and the next page's token (null: none). */
  public static ObjectNode history(String workflowId, java.util.List<HistoryEntry> entries, String nextPageToken) {
    ObjectNode n = JSON.createObjectNode();
    n.put("workflowId", workflowId);
    ArrayNode list = n.putArray("entries");
    entries.forEach(e -> list.add(historyEntry(e)));
    if (nextPageToken == null) {
      n.putNull("nextPageToken");
    } else {
      n.put("nextPageToken", nextPageToken);
    }
    return n;
  }

  /** The value as JSON when it is one well-formed UTF-8 JSON value, else null. */
  private static JsonNode parseJson(byte[] value) {
    if (value.length == 0) {
      return null;
    }
    try {
      String text = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(value)).toString();
      return VALUES.readTree(text);
    } catch (java.nio.charset.CharacterCodingException | JsonProcessingException notJson) {
      return null;
    }
  }

  /**
   * A list query from a JSON object with the optional keys {@code statuses} (array of status
   * names), {@code type}, {@code version}, {@code started_after}, {@code started_before}
   * (ISO-8601 instants), {@code limit} and {@code page_token}; null or empty text means the
   * first page of everything.
   *
   * @throws Errors.InvalidArgumentException for malformed JSON, unknown keys or bad values
   */
  public static ListQuery query(String json) {
    if (json == null || json.isBlank()) {
      return ListQuery.all();
    }
    JsonNode root = parseObject(json, "list query");
    Set<WorkflowStatus> statuses = EnumSet.noneOf(WorkflowStatus.class);
    String type = null;
    int version = 0;
    Instant after = null;
    Instant before = null;
    int limit = ListQuery.DEFAULT_LIMIT;
    String pageToken = null;
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      JsonNode v = field.getValue();
      switch (field.getKey()) {
        case "statuses" -> {
          if (!v.isArray()) {
            throw new Errors.InvalidArgumentException("statuses must be an array of status names");
          }
          for (JsonNode s : v) {
            statuses.add(status(s));
          }
        }
        case "type" -> type = text(v, "type");
        case "version" -> version = (int) integer(v, "version", 0, Integer.MAX_VALUE);
        case "started_after" -> after = instant(v, "started_after");
        case "started_before" -> before = instant(v, "started_before");
        case "limit" -> limit = (int) integer(v, "limit", 1, ListQuery.MAX_LIMIT);
        case "page_token" -> pageToken = text(v, "page_token");
        default -> throw new Errors.InvalidArgumentException("unknown list query key '" + field.getKey()
            + "' (known: statuses, type, version, started_after, started_before, limit, page_token)");
      }
    }
    return new ListQuery(statuses, type, version, after, before, limit, pageToken);
  }

  /** Parses {@code json} as a JSON object; {@code what} names it in the error. */
  public static JsonNode parseObject(String json, String what) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new Errors.InvalidArgumentException(what + " is not valid JSON: " + e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw new Errors.InvalidArgumentException(what + " must be a JSON object");
    }
    return root;
  }

  public static String text(JsonNode v, String key) {
    if (v.isNull()) {
      return null;
    }
    if (!v.isTextual()) {
      throw new Errors.InvalidArgumentException(key + " must be a string, got " + v);
    }
    return v.asText();
  }

  public static long integer(JsonNode v, String key, long min, long max) {
    if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
      throw new Errors.InvalidArgumentException(key + " must be an integer between " + min + " and " + max + ", got " + v);
    }
    return v.asLong();
  }

  private static Instant instant(JsonNode v, String key) {
    String s = text(v, key);
    try {
      return s == null ? null : Instant.parse(s);
    } catch (DateTimeParseException e) {
      throw new Errors.InvalidArgumentException(key + " must be an ISO-8601 instant such as 2026-01-31T12:00:00Z, got " + s);
    }
  }

  private static WorkflowStatus status(JsonNode v) {
    String s = text(v, "statuses[]");
    try {
      return WorkflowStatus.valueOf(s == null ? "" : s.toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new Errors.InvalidArgumentException("unknown status '" + s + "' (known: RUNNING, COMPLETED, FAILED, TERMINATED)");
    }
  }
}
