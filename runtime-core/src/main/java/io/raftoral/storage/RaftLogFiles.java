package io.raftoral.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** What the names of a group's Raft log segments ({@code log_START-END}, {@code log_inprogress_START}) tell. */
public final class RaftLogFiles {
  private static final Pattern SEGMENT = Pattern.compile("log_(?:inprogress_)?(\\d+)(?:-\\d+)?");

  private RaftLogFiles() {}

  /** The index of the first entry still on disk, or -1 when the log has no segment. */
  public static long firstIndex(Path currentDir) throws IOException {
    if (!Files.isDirectory(currentDir)) {
      return -1;
    }
    try (Stream<Path> files = Files.list(currentDir)) {
      return files.map(p -> SEGMENT.matcher(p.getFileName().toString())).filter(Matcher::matches)
          .mapToLong(m -> Long.parseLong(m.group(1))).min().orElse(-1);
    }
  }
}
