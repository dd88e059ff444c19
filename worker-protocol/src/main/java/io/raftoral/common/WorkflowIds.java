package io.raftoral.common;

import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Workflow ids that name their execution group: {@code g<index>-<uuid>}, e.g.
 * {@code g2-0b9f6c1e-...}. Such an id is found in one step: its group is in it (followed
 * through merges), so it needs no entry in the cluster's index of caller-chosen ids. The node
 * mints them for starts without an id; the client library mints them too, from the groups a
 * node told it of, so that a start it retries keeps its id. Any other id is caller-chosen.
 */
public final class WorkflowIds {
  /** The highest group index an id may name (more than any cluster has groups). */
  public static final int MAX_GROUP_INDEX = 99_999;
  private static final int UUID_LENGTH = 36;

  private WorkflowIds() {}

  /** A new id in group {@code groupIndex}: random (version 4 UUID), lowercase. */
  public static String mint(int groupIndex) {
    if (groupIndex < 0 || groupIndex > MAX_GROUP_INDEX) {
      throw new IllegalArgumentException("group index " + groupIndex + " is out of 0.." + MAX_GROUP_INDEX);
    }
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long most = (r.nextLong() & ~0xF000L) | 0x4000L; // version 4
    long least = (r.nextLong() & ~(0xC000L << 48)) | (0x8000L << 48); // IETF variant
    return "g" + groupIndex + "-" + new UUID(most, least);
  }

  /**
   * The group index a minted id names, or empty for any other id. Strict: {@code g}, a decimal
   * index without leading zeros up to {@link #MAX_GROUP_INDEX}, {@code -}, and a lowercase
   * canonical UUID; anything else (upper case, spaces, a longer tail) is a caller-chosen id.
   */
  public static OptionalInt groupOf(String workflowId) {
    if (workflowId == null || workflowId.length() < 3 + UUID_LENGTH || workflowId.charAt(0) != 'g') {
      return OptionalInt.empty();
    }
    int dash = workflowId.indexOf('-');
    int digits = dash - 1;
    if (digits < 1 || digits > 5 || workflowId.length() != dash + 1 + UUID_LENGTH) {
      return OptionalInt.empty();
    }
    if (digits > 1 && workflowId.charAt(1) == '0') {
      return OptionalInt.empty();
    }
    int index = 0;
    for (int i = 1; i < dash; i++) {
      char c = workflowId.charAt(i);
      if (c < '0' || c > '9') {
        return OptionalInt.empty();
      }
      index = index * 10 + (c - '0');
    }
    return isCanonicalUuid(workflowId, dash + 1) ? OptionalInt.of(index) : OptionalInt.empty();
  }

  private static boolean isCanonicalUuid(String s, int from) {
    for (int i = 0; i < UUID_LENGTH; i++) {
      char c = s.charAt(from + i);
      boolean dash = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }
}
