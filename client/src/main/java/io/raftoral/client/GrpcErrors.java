package io.raftoral.client;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.common.WorkflowType;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The mapping between the typed errors ({@link Errors}) and gRPC statuses, both ways, so that a
 * client gets back the same exception type, with the same message, that the node threw.
 *
 * <p>The status code follows the header of {@code client_api.proto} (NOT_FOUND, ALREADY_EXISTS,
 * FAILED_PRECONDITION, INVALID_ARGUMENT, DEADLINE_EXCEEDED, UNAVAILABLE, INTERNAL); the
 * description is the exception's message. Because one code carries several exception types, the
 * server adds trailers:
 *
 * <ul>
 *   <li>{@code raftoral-error}: the exception kind ({@link Kind}, e.g. {@code NOT_REGISTERED});
 *   <li>{@code raftoral-workflow-type-bin} (UTF-8) and {@code raftoral-workflow-version}: the
 *       type of {@code NotRegistered};
 *   <li>{@code raftoral-workflow-id-bin}: the workflow id of NOT_FOUND, ALREADY_EXISTS and the
 *       failed/terminated errors;
 *   <li>{@code raftoral-error-type-bin}, {@code raftoral-error-message-bin}: a failure's error, or a
 *       termination's reason.
 * </ul>
 *
 * Without trailers (another server, a proxy that drops them) the client falls back to the code
 * and parses the message, which the {@link Errors} constructors build in a fixed form.
 *
 * <p>Statuses travel in HTTP/2 headers, whose size clients cap (8 KiB in grpc-java, 16 KiB in
 * grpcio): a longer status fails as RESOURCE_EXHAUSTED or INTERNAL instead of its own code. So
 * the description and the error message trailer are cut to {@value #MAX_TEXT_BYTES} bytes of
 * UTF-8, ending "... (N characters)", and the error type to {@value #MAX_TYPE_BYTES}. A workflow's
 * whole error message is in its info (describe, await).
 */
public final class GrpcErrors {
  private GrpcErrors() {}

  /** Which {@link Errors} type a status stands for. */
  public enum Kind {
    ALREADY_REGISTERED, NOT_REGISTERED, ALREADY_EXISTS, WORKFLOW_NOT_FOUND, WORKFLOW_FAILED, WORKFLOW_TERMINATED,
    TIMEOUT, INVALID_ARGUMENT, PAYLOAD_TOO_LARGE, CODEC, NODE_CLOSED, NODE_REMOVED, UNAVAILABLE,
    /** A plain {@link RaftoralException}. */
    RAFTORAL,
    /** Not a Raftoral exception: a bug or an unexpected failure on the node. */
    INTERNAL
  }

  public static final Metadata.Key<String> KIND = Metadata.Key.of("raftoral-error", Metadata.ASCII_STRING_MARSHALLER);
  public static final Metadata.Key<byte[]> WORKFLOW_TYPE = Metadata.Key.of("raftoral-workflow-type-bin", Metadata.BINARY_BYTE_MARSHALLER);
  public static final Metadata.Key<String> WORKFLOW_VERSION = Metadata.Key.of("raftoral-workflow-version", Metadata.ASCII_STRING_MARSHALLER);
  public static final Metadata.Key<byte[]> WORKFLOW_ID = Metadata.Key.of("raftoral-workflow-id-bin", Metadata.BINARY_BYTE_MARSHALLER);
  public static final Metadata.Key<byte[]> ERROR_TYPE = Metadata.Key.of("raftoral-error-type-bin", Metadata.BINARY_BYTE_MARSHALLER);
  public static final Metadata.Key<byte[]> ERROR_MESSAGE = Metadata.Key.of("raftoral-error-message-bin", Metadata.BINARY_BYTE_MARSHALLER);

  // The messages the Errors constructors build; the fallback when trailers are missing.
  private static final Pattern NOT_REGISTERED = Pattern.compile("workflow (.+)@v(\\d+) is not registered");
  private static final Pattern ALREADY_REGISTERED = Pattern.compile("workflow (.+)@v(\\d+) is already registered.*");
  private static final Pattern ALREADY_EXISTS = Pattern.compile("workflow (.+) already exists with another type, version or input");
  private static final Pattern NOT_FOUND = Pattern.compile("workflow (.+) not found");
  private static final Pattern TOO_LARGE = Pattern.compile("(.+) is (\\d+) bytes, above the limit of (\\d+) bytes", Pattern.DOTALL);

  /** The most UTF-8 bytes of a status's description or error message trailer. */
  static final int MAX_TEXT_BYTES = 1024;
  /** The most UTF-8 bytes of an error type trailer. */
  static final int MAX_TYPE_BYTES = 256;

  // --- server side ---

  /** The status a node answers for {@code error}; never carries a stack trace. */
  public static StatusRuntimeException toStatus(Throwable error) {
    if (error instanceof StatusRuntimeException sre) {
      return sre;
    }
    if (error instanceof StatusException se) {
      return new StatusRuntimeException(se.getStatus(), se.getTrailers());
    }
    Metadata trailers = new Metadata();
    String message = error.getMessage() == null ? error.getClass().getSimpleName() : error.getMessage();
    Status status;
    Kind kind;
    switch (error) {
      case Errors.NotRegisteredException e -> {
        status = Status.FAILED_PRECONDITION;
        kind = Kind.NOT_REGISTERED;
        if (e.workflowType() != null) {
          trailers.put(WORKFLOW_TYPE, utf8(e.workflowType().name()));
          trailers.put(WORKFLOW_VERSION, Integer.toString(e.workflowType().version()));
        }
      }
      case Errors.AlreadyRegisteredException e -> {
        status = Status.FAILED_PRECONDITION;
        kind = Kind.ALREADY_REGISTERED;
      }
      case Errors.AlreadyExistsException e -> {
        status = Status.ALREADY_EXISTS;
        kind = Kind.ALREADY_EXISTS;
        putGroup(trailers, WORKFLOW_ID, ALREADY_EXISTS, message, 1);
      }
      case Errors.WorkflowNotFoundException e -> {
        status = Status.NOT_FOUND;
        kind = Kind.WORKFLOW_NOT_FOUND;
        putGroup(trailers, WORKFLOW_ID, NOT_FOUND, message, 1);
      }
      case Errors.WorkflowFailedException e -> {
        status = Status.FAILED_PRECONDITION;
        kind = Kind.WORKFLOW_FAILED;
        putWorkflowIdFrom(trailers, message, " failed: ");
        trailers.put(ERROR_TYPE, utf8(bounded(String.valueOf(e.errorType()), MAX_TYPE_BYTES)));
        trailers.put(ERROR_MESSAGE, utf8(bounded(String.valueOf(e.errorMessage()), MAX_TEXT_BYTES)));
      }
      case Errors.WorkflowTerminatedException e -> {
        status = Status.FAILED_PRECONDITION;
        kind = Kind.WORKFLOW_TERMINATED;
        putWorkflowIdFrom(trailers, message, " was terminated: ");
        trailers.put(ERROR_MESSAGE, utf8(bounded(String.valueOf(e.reason()), MAX_TEXT_BYTES)));
      }
      case Errors.TimeoutException e -> {
        status = Status.DEADLINE_EXCEEDED;
        kind = Kind.TIMEOUT;
      }
      case Errors.PayloadTooLargeException e -> {
        status = Status.INVALID_ARGUMENT;
        kind = Kind.PAYLOAD_TOO_LARGE;
      }
      case Errors.InvalidArgumentException e -> {
        status = Status.INVALID_ARGUMENT;
        kind = Kind.INVALID_ARGUMENT;
      }
      case Errors.CodecException e -> {
        status = Status.INVALID_ARGUMENT;
        kind = Kind.CODEC;
      }
      case Errors.NodeClosedException e -> {
        status = Status.UNAVAILABLE;
        kind = Kind.NODE_CLOSED;
      }
      case Errors.UnavailableException e -> {
        status = Status.UNAVAILABLE;
        kind = Kind.UNAVAILABLE;
      }
      case Errors.NodeRemovedException e -> {
        status = Status.FAILED_PRECONDITION;
        kind = Kind.NODE_REMOVED;
      }
      case RaftoralException e -> {
        status = Status.INTERNAL;
        kind = Kind.RAFTORAL;
      }
      default -> {
        status = Status.INTERNAL;
        kind = Kind.INTERNAL;
        message = "internal error: " + error.getClass().getSimpleName() + (error.getMessage() == null ? "" : ": " + error.getMessage());
      }
    }
    trailers.put(KIND, kind.name());
    return status.withDescription(bounded(message, MAX_TEXT_BYTES)).asRuntimeException(trailers);
  }

  // --- client side ---

  /**
   * The exception for a status a call to {@code address} ended with.
   *
   * @param workflowId the id the call was about, or null; used when the status does not name one
   */
  public static RaftoralException fromStatus(StatusRuntimeException e, String address, String workflowId) {
    Status status = e.getStatus();
    Metadata trailers = e.getTrailers() == null ? new Metadata() : e.getTrailers();
    String description = status.getDescription() == null ? "" : status.getDescription();
    Kind kind = kindOf(trailers.get(KIND));
    if (kind == null) {
      kind = switch (status.getCode()) {
        case NOT_FOUND -> Kind.WORKFLOW_NOT_FOUND;
        case ALREADY_EXISTS -> Kind.ALREADY_EXISTS;
        case FAILED_PRECONDITION -> NOT_REGISTERED.matcher(description).matches() ? Kind.NOT_REGISTERED : null;
        case INVALID_ARGUMENT -> TOO_LARGE.matcher(description).matches() ? Kind.PAYLOAD_TOO_LARGE : Kind.INVALID_ARGUMENT;
        case DEADLINE_EXCEEDED -> Kind.TIMEOUT;
        default -> null;
      };
    }
    if (kind == null && status.getCode() == Status.Code.UNAVAILABLE) {
      return new Errors.UnavailableException("node " + address + " is unreachable: " + transportReason(e), e);
    }
    if (kind == null) {
      return withCause(new RaftoralException("node " + address + " answered " + status.getCode()
          + (description.isEmpty() ? "" : ": " + description), e), e);
    }
    String id = firstNonNull(utf8(trailers.get(WORKFLOW_ID)), workflowId);
    return switch (kind) {
      case NOT_REGISTERED -> {
        WorkflowType type = typeFrom(trailers, description, NOT_REGISTERED);
        yield type == null ? new RaftoralException(description, e) : withCause(new Errors.NotRegisteredException(type), e);
      }
      case ALREADY_REGISTERED -> {
        WorkflowType type = typeFrom(new Metadata(), description, ALREADY_REGISTERED);
        yield type == null ? new RaftoralException(description, e) : withCause(new Errors.AlreadyRegisteredException(type), e);
      }
      case ALREADY_EXISTS -> withCause(new Errors.AlreadyExistsException(firstNonNull(id, group(ALREADY_EXISTS, description))), e);
      case WORKFLOW_NOT_FOUND -> withCause(new Errors.WorkflowNotFoundException(firstNonNull(id, group(NOT_FOUND, description))), e);
      case WORKFLOW_FAILED -> withCause(new Errors.WorkflowFailedException(id,
          utf8(trailers.get(ERROR_TYPE)), utf8(trailers.get(ERROR_MESSAGE))), e);
      case WORKFLOW_TERMINATED -> withCause(new Errors.WorkflowTerminatedException(id, utf8(trailers.get(ERROR_MESSAGE))), e);
      case TIMEOUT -> withCause(new Errors.TimeoutException(description.isEmpty()
          ? "call to node " + address + " timed out" : description), e);
      case PAYLOAD_TOO_LARGE -> {
        Matcher m = TOO_LARGE.matcher(description);
        yield m.matches()
            ? withCause(new Errors.PayloadTooLargeException(m.group(1), Long.parseLong(m.group(2)), Long.parseLong(m.group(3))), e)
            : withCause(new Errors.InvalidArgumentException(description), e);
      }
      case INVALID_ARGUMENT -> withCause(new Errors.InvalidArgumentException(description), e);
      case CODEC -> new Errors.CodecException(description, e);
      case NODE_CLOSED -> withCause(new Errors.NodeClosedException(description), e);
      case NODE_REMOVED -> withCause(new Errors.NodeRemovedException(description), e);
      case UNAVAILABLE -> new Errors.UnavailableException(description, e);
      case RAFTORAL -> new RaftoralException(description, e);
      case INTERNAL -> new RaftoralException("node " + address + ": " + description, e);
    };
  }

  private static Kind kindOf(String name) {
    if (name == null) {
      return null;
    }
    try {
      return Kind.valueOf(name);
    } catch (IllegalArgumentException unknown) {
      return null; // a newer server's kind: fall back to the status code
    }
  }

  private static WorkflowType typeFrom(Metadata trailers, String description, Pattern fallback) {
    try {
      String name = utf8(trailers.get(WORKFLOW_TYPE));
      String version = trailers.get(WORKFLOW_VERSION);
      if (name != null && version != null) {
        return new WorkflowType(name, Integer.parseInt(version));
      }
      Matcher m = fallback.matcher(description);
      return m.matches() ? new WorkflowType(m.group(1), Integer.parseInt(m.group(2))) : null;
    } catch (RuntimeException malformed) {
      return null;
    }
  }

  /** Why the transport failed, e.g. "Connection refused", without gRPC's wrapping. */
  private static String transportReason(StatusRuntimeException e) {
    Throwable root = e.getStatus().getCause();
    while (root != null && root.getCause() != null) {
      root = root.getCause();
    }
    String reason = root != null && root.getMessage() != null ? root.getMessage() : e.getStatus().getDescription();
    if (reason == null || reason.isBlank()) {
      return "UNAVAILABLE";
    }
    // Netty's "finishConnect(..) failed with error(-111): Connection refused: /127.0.0.1:8001"
    // wraps the reason in syscall details and repeats the address we already name.
    int address = reason.indexOf(": /");
    if (address > 0) {
      reason = reason.substring(0, address);
    }
    int detail = reason.lastIndexOf("): ");
    return detail > 0 ? reason.substring(detail + 3) : reason;
  }

  private static <E extends RaftoralException> E withCause(E error, Throwable cause) {
    if (error.getCause() == null) {
      try {
        error.initCause(cause);
      } catch (IllegalStateException alreadySet) {
        // constructed with an explicit (null) cause; keep it
      }
    }
    return error;
  }

  private static void putGroup(Metadata trailers, Metadata.Key<byte[]> key, Pattern pattern, String message, int group) {
    Matcher m = pattern.matcher(message);
    if (m.matches()) {
      trailers.put(key, utf8(m.group(group)));
    }
  }

  private static void putWorkflowIdFrom(Metadata trailers, String message, String separator) {
    int at = message.indexOf(separator);
    if (message.startsWith("workflow ") && at > "workflow ".length()) {
      trailers.put(WORKFLOW_ID, utf8(message.substring("workflow ".length(), at)));
    }
  }

  /** {@code text}, or when its UTF-8 is longer than {@code maxBytes} a prefix of it that fits with "... (N characters)". */
  static String bounded(String text, int maxBytes) {
    if (utf8(text).length <= maxBytes) {
      return text;
    }
    String suffix = "... (" + text.length() + " characters)";
    int budget = maxBytes - suffix.length();
    int end = 0;
    int bytes = 0;
    while (end < text.length()) {
      int cp = text.codePointAt(end);
      int size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      if (bytes + size > budget) {
        break;
      }
      bytes += size;
      end += Character.charCount(cp);
    }
    return text.substring(0, end) + suffix;
  }

  private static String group(Pattern pattern, String text) {
    Matcher m = pattern.matcher(text);
    return m.matches() ? m.group(1) : text;
  }

  private static String firstNonNull(String a, String b) {
    return a != null ? a : b;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String utf8(byte[] b) {
    return b == null ? null : new String(b, StandardCharsets.UTF_8);
  }
}
