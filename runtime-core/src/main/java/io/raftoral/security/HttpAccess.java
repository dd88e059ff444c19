package io.raftoral.security;

import java.util.Optional;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may ask what of the node's HTTP port (docs/SECURITY.md): every request but the health
 * probes ({@code /health/live}, {@code /health/ready}) and the console's static files (they hold
 * no data: the data comes from {@code /api/v1}) must carry {@code Authorization: Bearer TOKEN}, a
 * token of the node's tokens file. Reading ({@code GET}/{@code HEAD} of {@code /api/v1/*} and
 * {@code /metrics}) needs a reader's token; anything else under {@code /api/v1} (the console's
 * terminate) an operator's; a worker's token is refused. Client certificates are for the gRPC
 * ports: when the node has {@code tlsCa} but no tokens file, nothing but the open paths is served.
 *
 * <p>A request without credentials, or with ones the node does not accept, is refused 401; one
 * whose role does not allow it, 403. Either is logged (the token's public id, never its secret),
 * at most a few lines a second. Independent of the HTTP server: it judges a method, a raw path and
 * the Authorization header's value.
 */
public final class HttpAccess {
  private static final Logger LOG = LoggerFactory.getLogger(HttpAccess.class);
  private static final String BEARER = "Bearer ";
  private static final String API_PREFIX = "/api/v1/";
  private static final String CONSOLE_PREFIX = "/console/";

  /**
   * What to do with a request.
   *
   * @param status 0 when it may go on, else the HTTP status to refuse it with (401 or 403)
   * @param code the refusal's error code as the console's API names it (UNAUTHENTICATED,
   *     PERMISSION_DENIED), null when allowed
   * @param reason why it is refused (never a token's secret), null when allowed
   * @param caller who asked ({@code token rft_1a2b3c4d (reader)}), null when unknown or not needed
   */
  public record Verdict(int status, String code, String reason, String caller) {
    static final Verdict OPEN = new Verdict(0, null, null, null);

    public boolean allowed() {
      return status == 0;
    }

    static Verdict unauthenticated(String reason) {
      return new Verdict(401, "UNAUTHENTICATED", reason, null);
    }
  }

  /** The value of the {@code WWW-Authenticate} header of a 401. */
  public static final String CHALLENGE = "Bearer realm=\"raftoral\"";

  private final TokenFile tokens;
  private final LongSupplier nodeId;
  private final RefusalLog refusals = new RefusalLog();

  /**
   * @param tokens the node's tokens, or null: then only the open paths are served (the node
   *     authenticates by client certificate, which the HTTP port does not take)
   * @param nodeId for the log
   */
  HttpAccess(TokenFile tokens, LongSupplier nodeId) {
    this.tokens = tokens;
    this.nodeId = nodeId;
  }

  /**
   * The check of {@code security}'s HTTP port, or empty when requests need no authentication (no
   * tokens file and no cluster CA).
   */
  public static Optional<HttpAccess> of(NodeSecurity security, LongSupplier nodeId) {
    if (security.tokens().isEmpty() && security.tlsCa() == null) {
      return Optional.empty();
    }
    return Optional.of(new HttpAccess(security.tokens().orElse(null), nodeId));
  }

  /** Whether {@code path} (raw) is served to anyone: the health probes and the console's static files. */
  public static boolean open(String path) {
    return path.equals("/health/live") || path.equals("/health/ready") || path.equals("/") || path.equals("/console")
        || (path.startsWith(CONSOLE_PREFIX) && !path.contains(".."));
  }

  /** The role a request needs, or empty for an open one. */
  static Optional<Role> needOf(String method, String path) {
    if (open(path)) {
      return Optional.empty();
    }
    boolean read = method.equals("GET") || method.equals("HEAD");
    return Optional.of(path.startsWith(API_PREFIX) && !read ? Role.OPERATOR : Role.READER);
  }

  /**
   * Judges a request, and logs a refusal.
   *
   * @param method the HTTP method
   * @param path the request's raw path
   * @param authorization the Authorization header's value, or null
   * @param from the remote address, for the log
   */
  public Verdict check(String method, String path, String authorization, Object from) {
    Verdict v = judge(method, path, authorization);
    if (!v.allowed()) {
      logRefusal(method + " " + path, from, v);
    }
    return v;
  }

  /** As {@link #check} without the log. */
  Verdict judge(String method, String path, String authorization) {
    Optional<Role> need = needOf(method, path);
    if (need.isEmpty()) {
      return Verdict.OPEN;
    }
    if (tokens == null) {
      return Verdict.unauthenticated("the http port authenticates by bearer token only (client certificates are for the"
          + " grpc ports), and this node has no authTokens file: only /health/live and /health/ready are served");
    }
    if (authorization == null || authorization.isBlank()) {
      return Verdict.unauthenticated("no credentials: send a bearer token (Authorization: Bearer TOKEN)");
    }
    if (!authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      return Verdict.unauthenticated("the Authorization header must be 'Bearer TOKEN'");
    }
    String token = authorization.substring(BEARER.length()).strip();
    Optional<TokenFile.Authenticated> who = tokens.authenticate(token);
    if (who.isEmpty()) {
      return Verdict.unauthenticated("token " + TokenFile.idOf(token) + " is not one of this node's tokens");
    }
    String caller = "token " + who.get().tokenId() + " (" + who.get().role().wireName() + ")";
    if (!who.get().role().permits(need.get())) {
      return new Verdict(403, "PERMISSION_DENIED", caller + " may not " + method + " " + path
          + " (it needs a " + need.get().wireName() + "'s token" + (need.get() == Role.READER ? " or an operator's" : "") + ")",
          caller);
    }
    return new Verdict(0, null, null, caller);
  }

  /** Logged through {@link RefusalLog}: a few lines a second at most. */
  private void logRefusal(String request, Object from, Verdict v) {
    long skipped = refusals.admit();
    if (skipped < 0) {
      return;
    }
    LOG.warn("node {}: refused http {} from {}: {} {}{}", nodeId.getAsLong(), request, from, v.status(), v.reason(),
        RefusalLog.leftOut(skipped));
  }
}
