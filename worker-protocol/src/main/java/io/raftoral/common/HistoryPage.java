package io.raftoral.common;

import java.util.List;

/**
 * One page of a workflow's history (see {@link HistoryQuery} for the order).
 *
 * @param nextPageToken pass it in the next {@link HistoryQuery}; null on the last page
 */
public record HistoryPage(List<HistoryEntry> entries, String nextPageToken) {
  public HistoryPage {
    entries = List.copyOf(entries);
  }
}
