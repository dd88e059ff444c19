package io.raftoral.cli;

/** How a command prints its answer: for people, or one JSON object for scripts. */
enum OutputFormat {
  text,
  json
}
