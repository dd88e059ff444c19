package io.raftoral.graal;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryNotificationInfo;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;

/**
 * The memory guard of the JavaScript and Python workflows (GraalVM Community has no per-context
 * heap limit). It sets a collection-usage threshold on the JVM's old generation (the heap pools
 * that support one): the JVM notifies when that pool is still fuller than the threshold right after
 * a collection, which garbage cannot explain. Every {@link GraalWorkflows} then closes its idle
 * contexts or, when it has none, stops the runs whose code is running at that moment: the one
 * allocating is among them.
 *
 * <p>The threshold is process-wide: the lowest limit of the live instances.
 */
final class MemoryGuard {
  private static final Map<GraalWorkflows, Double> WATCHED = new ConcurrentHashMap<>();
  private static final NotificationListener LISTENER = (notification, handback) -> {
    if (MemoryNotificationInfo.MEMORY_COLLECTION_THRESHOLD_EXCEEDED.equals(notification.getType())) {
      String usage = usage();
      WATCHED.keySet().forEach(w -> w.heapNearlyFull(usage));
    }
  };
  private static boolean listening;

  private MemoryGuard() {}

  static synchronized void add(GraalWorkflows workflows, double limit) {
    WATCHED.put(workflows, limit);
    if (!listening) {
      ((NotificationEmitter) ManagementFactory.getMemoryMXBean()).addNotificationListener(LISTENER, null, null);
      listening = true;
    }
    setThresholds();
  }

  static synchronized void remove(GraalWorkflows workflows) {
    WATCHED.remove(workflows);
    setThresholds();
  }

  private static void setThresholds() {
    double limit = WATCHED.values().stream().mapToDouble(Double::doubleValue).min().orElse(0);
    for (MemoryPoolMXBean pool : oldGeneration()) {
      long max = pool.getUsage().getMax();
      // 0 turns the threshold off (no instance left).
      pool.setCollectionUsageThreshold(limit == 0 || max <= 0 ? 0 : Math.max(1, (long) (max * limit)));
    }
  }

  /** The heap pools a threshold applies to: those that support one and have a maximum (the old generation). */
  private static List<MemoryPoolMXBean> oldGeneration() {
    return ManagementFactory.getMemoryPoolMXBeans().stream()
        .filter(p -> p.getType() == MemoryType.HEAP && p.isCollectionUsageThresholdSupported() && p.getUsage().getMax() > 0)
        .filter(p -> !p.getName().contains("Eden") && !p.getName().contains("Survivor"))
        .toList();
  }

  private static String usage() {
    StringBuilder b = new StringBuilder();
    for (MemoryPoolMXBean pool : oldGeneration()) {
      var u = pool.getCollectionUsage();
      if (u != null) {
        b.append(b.isEmpty() ? "" : ", ").append(pool.getName()).append(' ').append(u.getUsed() >> 20).append(" of ")
            .append(u.getMax() >> 20).append(" MiB");
      }
    }
    return b.toString();
  }
}
