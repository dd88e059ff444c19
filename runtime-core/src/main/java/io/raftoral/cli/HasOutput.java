package io.raftoral.cli;

/** A command whose errors are also reported as a JSON object with {@code --output json}. */
interface HasOutput {
  OutputFormat output();

  /** The command's own {@code --output}, else the top level's, else text. */
  static OutputFormat resolve(OutputFormat own, RaftoralCli parent) {
    if (own != null) {
      return own;
    }
    return parent != null && parent.output != null ? parent.output : OutputFormat.text;
  }
}
