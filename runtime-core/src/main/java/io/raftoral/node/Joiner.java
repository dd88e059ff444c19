package io.raftoral.node;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.raftoral.client.GrpcErrors;
import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.proto.client.JoinReply;
import io.raftoral.proto.client.JoinRequest;
import io.raftoral.proto.client.LeaveRequest;
import io.raftoral.proto.client.NodeMembership;
import io.raftoral.proto.client.NodeServiceGrpc;
import io.raftoral.proto.client.NodeStatusReply;
import io.raftoral.proto.client.NodeStatusRequest;
import io.raftoral.security.NodeSecurity;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The calling side of {@code NodeService}: a join (asks the seeds, in turn, to register this
 * node, until one answers or the time is up), the membership status a node asks its peers, and
 * the leave of a start that failed after it registered. Over TLS, presenting this node's
 * certificate, when the node has one ({@link NodeSecurity#channelTo}).
 */
public final class Joiner {
  private static final Duration PER_CALL = Duration.ofSeconds(5);

  private Joiner() {}

  /**
   * @param nodeId 0 for a new node; a restarted node's own id
   * @param incarnation the token of the joiner's identity (its data directory)
   * @throws Errors.NodeRemovedException when the cluster removed this node (id or incarnation)
   * @throws Errors.InvalidArgumentException when a seed refused the join for another reason
   * @throws RaftoralException when no seed answered in time
   */
  public static JoinReply join(NodeSecurity security, List<String> seeds, String clusterId, String raftAddress, String apiAddress, long nodeId,
      String incarnation, Duration patience) {
    JoinRequest request = JoinRequest.newBuilder().setClusterId(clusterId).setRaftAddress(raftAddress)
        .setApiAddress(apiAddress == null ? "" : apiAddress).setNodeId(nodeId).setIncarnation(incarnation).build();
    long deadline = System.nanoTime() + patience.toNanos();
    List<String> failures = new ArrayList<>();
    // A plaintext connection closed by a seed is a TLS port only if it keeps happening: a seed
    // killed mid-call closes one too, and refuses the next connection instead.
    int mismatchedRounds = 0;
    do {
      failures.clear();
      int mismatched = 0;
      int untrusted = 0;
      for (String seed : seeds) {
        ManagedChannel channel = security.channelTo(seed);
        try {
          return NodeServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(PER_CALL.toMillis(), TimeUnit.MILLISECONDS)
              .join(request);
        } catch (StatusRuntimeException e) {
          RaftoralException error = GrpcErrors.fromStatus(e, seed, null);
          if (error instanceof Errors.NodeRemovedException removed) {
            throw removed;
          }
          if (error instanceof Errors.UnauthenticatedException || error instanceof Errors.PermissionDeniedException) {
            // Another seed of the same cluster would say the same: the credentials are wrong.
            throw new Errors.InvalidArgumentException("seed " + seed + " refused the join (" + e.getStatus().getCode()
                + "): " + error.getMessage() + "; a node of a cluster with tlsCa joins with a certificate of that CA (tlsCert, tlsKey)");
          }
          if (error instanceof Errors.InvalidArgumentException) {
            throw new Errors.InvalidArgumentException("seed " + seed + " refused the join: " + error.getMessage());
          }
          String mismatch = tlsMismatch(security, e);
          if (mismatch != null) {
            mismatched++;
            untrusted += mismatch.startsWith(UNTRUSTED) ? 1 : 0;
          }
          failures.add(error.getMessage() + (mismatch != null ? " (" + mismatch + ")" : ""));
        } finally {
          channel.shutdownNow();
        }
      }
      mismatchedRounds = mismatched == seeds.size() ? mismatchedRounds + 1 : 0;
      // Every seed failed the same way: TLS does not match, and waiting will not change it. An
      // untrusted certificate says so at once; a closed plaintext connection after three rounds.
      if (untrusted == seeds.size() || mismatchedRounds >= 3) {
        throw new Errors.InvalidArgumentException("cannot join the cluster: " + String.join("; ", failures));
      }
      sleepQuietly(500);
    } while (System.nanoTime() < deadline);
    throw new RaftoralException("cannot join the cluster: no seed answered within " + patience.toSeconds() + " s (" + String.join("; ", failures) + ")");
  }

  /**
   * Asks every peer at once whether node {@code nodeId} is still a member, each within {@code
   * perCall}. A removal is a committed fact, so one peer that knows it is enough: that answer
   * wins. Otherwise a member answer, else null (nobody answered, or nobody knows the node yet).
   */
  public static NodeStatusReply status(NodeSecurity security, Collection<String> peers, String clusterId, long nodeId, String incarnation, Duration perCall) {
    NodeStatusRequest request = NodeStatusRequest.newBuilder().setClusterId(clusterId).setNodeId(nodeId).setIncarnation(incarnation).build();
    List<ManagedChannel> channels = new ArrayList<>();
    List<Future<NodeStatusReply>> answers = new ArrayList<>();
    try {
      for (String peer : peers) {
        ManagedChannel channel = security.channelTo(peer);
        channels.add(channel);
        answers.add(NodeServiceGrpc.newFutureStub(channel).withDeadlineAfter(perCall.toMillis(), TimeUnit.MILLISECONDS).status(request));
      }
      NodeStatusReply member = null;
      for (Future<NodeStatusReply> answer : answers) {
        try {
          NodeStatusReply reply = answer.get();
          if (reply.getMembership() == NodeMembership.NODE_REMOVED) {
            return reply;
          }
          if (reply.getMembership() == NodeMembership.NODE_MEMBER) {
            member = reply;
          }
        } catch (ExecutionException unreachableOrRefused) {
          // another peer may know
        }
      }
      return member;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } finally {
      channels.forEach(ManagedChannel::shutdownNow);
    }
  }

  /** Best effort: asks the seeds, in turn, to take back the registration of a start that failed; returns whether one did. */
  public static boolean leave(NodeSecurity security, List<String> seeds, String clusterId, long nodeId, String incarnation, String reason) {
    LeaveRequest request = LeaveRequest.newBuilder().setClusterId(clusterId).setNodeId(nodeId).setIncarnation(incarnation)
        .setReason(reason).build();
    for (String seed : seeds) {
      ManagedChannel channel = security.channelTo(seed);
      try {
        return NodeServiceGrpc.newBlockingStub(channel).withDeadlineAfter(PER_CALL.toMillis(), TimeUnit.MILLISECONDS)
            .leave(request).getLeft();
      } catch (StatusRuntimeException e) {
        // the next seed, if any
      } finally {
        channel.shutdownNow();
      }
    }
    return false;
  }

  private static final String UNTRUSTED = "the seed's TLS certificate is not trusted here";

  /**
   * Why {@code failure} says this node's TLS does not match the seed's, or null when it does not
   * say so: the seed's certificate is not trusted, or a plaintext connection was closed by what
   * is likely a TLS port (a seed that is down refuses the connection instead).
   */
  static String tlsMismatch(NodeSecurity security, StatusRuntimeException failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof javax.net.ssl.SSLHandshakeException || t instanceof java.security.cert.CertificateException
          || t instanceof java.security.cert.CertPathValidatorException) {
        return UNTRUSTED + ": give this node the cluster's CA (tlsCa) and its "
            + "own certificate of that CA (tlsCert, tlsKey)";
      }
    }
    String description = String.valueOf(failure.getStatus().getDescription());
    if (!security.tls() && failure.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE
        && (description.contains("Network closed") || description.contains("Connection reset"))) {
      return "the seed likely speaks TLS and this node does not: give it tlsCert, tlsKey and tlsCa";
    }
    return null;
  }

  private static void sleepQuietly(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RaftoralException("interrupted while joining", e);
    }
  }
}
