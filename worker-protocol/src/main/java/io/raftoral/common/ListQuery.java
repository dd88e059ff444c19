package io.raftoral.common;

import java.time.Instant;
import java.util.Set;

/**
 * Which workflows {@code list} returns, and which page.
 *
 * @param statuses empty matches every status
 * @param type null or empty matches every type
 * @param version 0 matches every version of {@code type}
 * @param startedAfter inclusive lower bound on started-at; null for none
 * @param startedBefore exclusive upper bound on started-at; null for none
 * @param limit page size, 1..1000
 * @param pageToken from the previous page's {@link ListPage#nextPageToken()}; null or empty for the first page
 */
public record ListQuery(
    Set<WorkflowStatus> statuses, String type, int version, Instant startedAfter, Instant startedBefore, int limit, String pageToken) {

  public static final int MAX_LIMIT = 1000;
  public static final int DEFAULT_LIMIT = 100;

  public ListQuery {
    statuses = statuses == null ? Set.of() : Set.copyOf(statuses);
    if (limit < 1 || limit > MAX_LIMIT) {
      throw new Errors.InvalidArgumentException("limit must be between 1 and " + MAX_LIMIT + ", got " + limit);
    }
    if (version < 0) {
      throw new Errors.InvalidArgumentException("version must be >= 0, got " + version);
    }
    if (version > 0 && (type == null || type.isEmpty())) {
      throw new Errors.InvalidArgumentException("a version filter needs a type filter");
    }
    if (startedAfter != null && startedBefore != null && !startedAfter.isBefore(startedBefore)) {
      throw new Errors.InvalidArgumentException("startedAfter " + startedAfter + " is not before startedBefore " + startedBefore);
    }
  }

  /** Every workflow, first page of the default size. */
  public static ListQuery all() {
    return new ListQuery(Set.of(), null, 0, null, null, DEFAULT_LIMIT, null);
  }
}
