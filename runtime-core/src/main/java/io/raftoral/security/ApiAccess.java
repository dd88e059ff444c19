package io.raftoral.security;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.raftoral.proto.client.NodeServiceGrpc;
import io.raftoral.proto.client.RaftoralApiGrpc;
import io.raftoral.proto.worker.WorkerServiceGrpc;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may call what on the node's API and worker ports: every call is authenticated, by a bearer token of
 * the node's tokens file or by a client certificate of the cluster's CA, and the caller's role
 * must allow the method ({@link #needOf}). A call without credentials, or with ones the node does
 * not accept, ends UNAUTHENTICATED; one whose role does not allow it, PERMISSION_DENIED. Either
 * is logged (the token's public id, never its secret), at most a few lines a second.
 *
 * <p>Installed only when the node has {@code authTokens} or {@code tlsCa}; the health service
 * stays open to probes.
 */
public final class ApiAccess implements ServerInterceptor {
  private static final Logger LOG = LoggerFactory.getLogger(ApiAccess.class);
  static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final String BEARER = "Bearer ";
  /** The verdict on a TLS session's client certificate, kept in the session: a connection is checked once. */
  private static final String SESSION_VERDICT = "io.raftoral.caller";

  /** What a method asks of its caller. */
  enum Need {
    /** Reads: describe, list, history, await, replay, cluster info. */
    READ,
    /** Changes: start, terminate. */
    OPERATE,
    /** Cluster membership: join, status, leave; a node's certificate, or an operator. */
    NODE,
    /** The worker stream: a worker's token or certificate. */
    WORK
  }

  private static final Map<String, Need> NEEDS = Map.ofEntries(
      Map.entry(RaftoralApiGrpc.getStartMethod().getFullMethodName(), Need.OPERATE),
      Map.entry(RaftoralApiGrpc.getTerminateMethod().getFullMethodName(), Need.OPERATE),
      Map.entry(RaftoralApiGrpc.getAwaitMethod().getFullMethodName(), Need.READ),
      Map.entry(RaftoralApiGrpc.getDescribeMethod().getFullMethodName(), Need.READ),
      Map.entry(RaftoralApiGrpc.getListMethod().getFullMethodName(), Need.READ),
      Map.entry(RaftoralApiGrpc.getHistoryMethod().getFullMethodName(), Need.READ),
      Map.entry(RaftoralApiGrpc.getReplayMethod().getFullMethodName(), Need.READ),
      Map.entry(RaftoralApiGrpc.getClusterInfoMethod().getFullMethodName(), Need.READ),
      Map.entry(NodeServiceGrpc.getJoinMethod().getFullMethodName(), Need.NODE),
      Map.entry(NodeServiceGrpc.getStatusMethod().getFullMethodName(), Need.NODE),
      Map.entry(NodeServiceGrpc.getLeaveMethod().getFullMethodName(), Need.NODE),
      Map.entry(WorkerServiceGrpc.getConnectMethod().getFullMethodName(), Need.WORK));

  /**
   * An authenticated caller.
   *
   * @param name how the log names it: {@code token rft_1a2b3c4d} or {@code certificate 'CN=...'}
   * @param role its role; empty for a node's certificate, or one that names no single role
   * @param node whether it is a node's certificate ({@link CertificateAuthority#isNode})
   */
  record Caller(String name, Optional<Role> role, boolean node) {
    boolean may(Need need) {
      return switch (need) {
        case READ -> role.isPresent() && role.get().permits(Role.READER);
        case OPERATE -> role.isPresent() && role.get().permits(Role.OPERATOR);
        case NODE -> node || (role.isPresent() && role.get().permits(Role.OPERATOR));
        case WORK -> role.isPresent() && role.get().permits(Role.WORKER);
      };
    }

    @Override
    public String toString() {
      return name + " (" + role.map(Role::wireName).orElse(node ? "a node" : "no role") + ")";
    }
  }

  /** Authenticated, or why not. */
  private record Verdict(Caller caller, String refusal) {}

  private final TokenFile tokens;
  private final ClientCertificates certificates;
  private final LongSupplier nodeId;
  private final RefusalLog refusals = new RefusalLog();

  /**
   * @param tokens the node's tokens, or null (no token is accepted)
   * @param certificates the client certificates accepted, or null (none)
   * @param nodeId for the log
   */
  ApiAccess(TokenFile tokens, ClientCertificates certificates, LongSupplier nodeId) {
    if (tokens == null && certificates == null) {
      throw new IllegalArgumentException("an api access check needs tokens or certificates to accept");
    }
    this.tokens = tokens;
    this.certificates = certificates;
    this.nodeId = nodeId;
  }

  /** What {@code fullMethodName} asks of its caller; a method not listed asks the most. */
  static Need needOf(String fullMethodName) {
    return NEEDS.getOrDefault(fullMethodName, Need.OPERATE);
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    Need need = needOf(method);
    if (need == Need.NODE && certificates == null) {
      // Nodes authenticate by certificate; without the cluster's CA (tokens only) membership
      // calls stay open, as the Raft port is (docs/SECURITY.md: node to node needs tlsCa).
      return next.startCall(call, headers);
    }
    Verdict verdict = authenticate(call, headers);
    if (verdict.caller() == null) {
      return refuse(call, Status.UNAUTHENTICATED, verdict.refusal(), method);
    }
    if (!verdict.caller().may(need)) {
      return refuse(call, Status.PERMISSION_DENIED, verdict.caller() + " may not call " + method, method);
    }
    // A long stream (a worker's) asks again later: a token deleted from the file, or a
    // certificate that expired, ends it (WorkerHost).
    BooleanSupplier stillAllowed = () -> {
      Verdict again = authenticate(call, headers);
      return again.caller() != null && again.caller().may(need);
    };
    return Contexts.interceptCall(Context.current().withValue(STILL_ALLOWED, stillAllowed), call, headers, next);
  }

  /**
   * In the context of an authenticated call: whether its caller's credentials still authenticate
   * and allow the call (false once its token left the tokens file, or its certificate expired).
   * Absent when the node authenticates nobody.
   */
  public static final Context.Key<BooleanSupplier> STILL_ALLOWED = Context.key("raftoral-still-allowed");

  private Verdict authenticate(ServerCall<?, ?> call, Metadata headers) {
    String authorization = headers.get(AUTHORIZATION);
    if (authorization != null) {
      // A token, when sent, decides, even over a connection with a client certificate.
      if (!authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
        return new Verdict(null, "the authorization header must be 'Bearer TOKEN'");
      }
      String token = authorization.substring(BEARER.length()).strip();
      if (tokens == null) {
        return new Verdict(null, "this node accepts no tokens (it has no authTokens file): authenticate with a client certificate");
      }
      return tokens.authenticate(token)
          .map(a -> new Verdict(new Caller("token " + a.tokenId(), Optional.of(a.role()), false), null))
          .orElseGet(() -> new Verdict(null, "token " + TokenFile.idOf(token) + " is not one of this node's tokens"));
    }
    SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    if (certificates != null && session != null) {
      X509Certificate[] chain = peerChain(session);
      if (chain != null) {
        return certificateVerdict(session, chain);
      }
    }
    return new Verdict(null, "no credentials: send a bearer token (authorization: Bearer TOKEN)"
        + (certificates != null ? " or a client certificate of the cluster's CA" : ""));
  }

  private Verdict certificateVerdict(SSLSession session, X509Certificate[] chain) {
    // Only an acceptance is kept (its validity re-checked per call): a refusal's reason may pass
    // (a certificate not valid yet), and then the same connection must be let in.
    Object cached = session.getValue(SESSION_VERDICT);
    if (cached instanceof Verdict v && stillValid(chain[0])) {
      return v;
    }
    Optional<String> problem = certificates.verify(chain);
    if (problem.isPresent()) {
      return new Verdict(null, problem.get());
    }
    Verdict v = new Verdict(new Caller("certificate '" + chain[0].getSubjectX500Principal().getName() + "'",
        CertificateAuthority.roleOf(chain[0]), CertificateAuthority.isNode(chain[0])), null);
    try {
      session.putValue(SESSION_VERDICT, v);
    } catch (UnsupportedOperationException | IllegalArgumentException e) {
      // an engine without session values: checked on every call
    }
    return v;
  }

  private static boolean stillValid(X509Certificate leaf) {
    try {
      leaf.checkValidity();
      return true;
    } catch (java.security.cert.CertificateException e) {
      return false;
    }
  }

  private static X509Certificate[] peerChain(SSLSession session) {
    try {
      Certificate[] certs = session.getPeerCertificates();
      X509Certificate[] chain = new X509Certificate[certs.length];
      for (int i = 0; i < certs.length; i++) {
        if (!(certs[i] instanceof X509Certificate x509)) {
          return null;
        }
        chain[i] = x509;
      }
      return chain.length == 0 ? null : chain;
    } catch (SSLPeerUnverifiedException none) {
      return null;
    }
  }

  private <Q, A> ServerCall.Listener<Q> refuse(ServerCall<Q, A> call, Status status, String reason, String method) {
    logRefusal(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR), status, reason, method);
    call.close(status.withDescription(reason), new Metadata());
    return new ServerCall.Listener<>() {};
  }

  /** Logged through {@link RefusalLog}: a few lines a second at most. */
  private void logRefusal(SocketAddress from, Status status, String reason, String method) {
    long skipped = refusals.admit();
    if (skipped < 0) {
      return;
    }
    LOG.warn("node {}: refused {} from {}: {} {}{}", nodeId.getAsLong(), method, from, status.getCode(), reason,
        RefusalLog.leftOut(skipped));
  }
}
