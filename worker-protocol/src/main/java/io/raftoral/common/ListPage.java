package io.raftoral.common;

import java.util.List;

/**
 * One page of a {@code list} call, in a stable order (started-at, then workflow id).
 *
 * @param nextPageToken pass it in the next {@link ListQuery}; null on the last page
 */
public record ListPage(List<WorkflowInfo> workflows, String nextPageToken) {
  public ListPage {
    workflows = List.copyOf(workflows);
  }
}
