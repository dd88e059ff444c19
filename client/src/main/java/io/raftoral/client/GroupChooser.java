package io.raftoral.client;

import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ExecutionGroupInfo;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * Picks the execution group for a start whose id this client mints: the least-loaded group open
 * to starts, as the node last reported (running workflows), plus the starts this client placed
 * there since. The report is read again at most every {@link #REFRESH_NANOS}; the node checks the
 * choice (a merged group forwards to its successor), so a stale one is never wrong, only less even.
 */
final class GroupChooser {
  static final long REFRESH_NANOS = 2_000_000_000L;

  private final Supplier<ClusterInfoReply> fetch;
  private List<ExecutionGroupInfo> open = List.of();
  private final Map<Integer, Long> placedSince = new HashMap<>();
  private long fetchedAt;
  private boolean fetched;

  GroupChooser(Supplier<ClusterInfoReply> fetch) {
    this.fetch = fetch;
  }

  /** A group index, or empty when the node named no open group (then the node places the start). */
  synchronized OptionalInt choose() {
    long now = System.nanoTime();
    if (!fetched || now - fetchedAt > REFRESH_NANOS) {
      fetched = true;
      fetchedAt = now;
      placedSince.clear();
      try {
        open = fetch.get().getExecutionGroupsList().stream()
            .filter(g -> g.getOpen() && g.getMergedInto().isEmpty() && g.getMergeTarget().isEmpty()).toList();
      } catch (RuntimeException e) {
        open = List.of(); // the start itself will say what is wrong with the node
      }
    }
    ExecutionGroupInfo best = null;
    long bestLoad = Long.MAX_VALUE;
    int ties = 0;
    for (ExecutionGroupInfo g : open) {
      long load = g.getRunningWorkflows() + placedSince.getOrDefault(g.getIndex(), 0L);
      if (load < bestLoad) {
        best = g;
        bestLoad = load;
        ties = 1;
      } else if (load == bestLoad && ThreadLocalRandom.current().nextInt(++ties) == 0) {
        best = g; // an even choice among equals (reservoir sampling)
      }
    }
    if (best == null) {
      return OptionalInt.empty();
    }
    placedSince.merge(best.getIndex(), 1L, Long::sum);
    return OptionalInt.of(best.getIndex());
  }
}
