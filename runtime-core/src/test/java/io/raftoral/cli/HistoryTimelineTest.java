package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.raftoral.common.HistoryEntry;
import io.raftoral.common.Text;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The CLI timeline ({@code raftoral history ID}) prints one row per checkpoint, and nothing a
 * workflow wrote reaches the terminal as a control character: keys (which a workflow chooses
 * freely, only unpaired surrogates are refused) are cleaned like value previews, and a preview
 * is cut between code points, never inside a surrogate pair.
 */
class HistoryTimelineTest {
  private static HistoryEntry entry(String key, long seq, String value) {
    return new HistoryEntry(key, seq, value.getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(1_700_000_000_000L), 1, 2);
  }

  @Test
  void aKeyWithANewlineOrAnEscapeSequenceKeepsOneRowPerCheckpointAndNoControlCharacters() {
    // Both keys are accepted by a workflow's checkpoint call (Text.requireWellFormed checks surrogates only).
    String newline = "step\nSEQ   forged row";
    String escape = "status\u001b[2J\u001b[31m";
    assertThatCode(() -> Text.requireWellFormed("checkpoint key", newline)).doesNotThrowAnyException();
    assertThatCode(() -> Text.requireWellFormed("checkpoint key", escape)).doesNotThrowAnyException();

    String text = Printer.historyText("wf", List.of(entry(newline, 0, "\"a\""), entry(escape, 0, "\"b\"")), null);

    assertThat(text.lines().count()).as("header and one row per checkpoint:%n%s", text).isEqualTo(3);
    assertThat(text.chars().filter(Character::isISOControl).filter(c -> c != '\n').count())
        .as("control characters in the timeline (ESC clears the user's screen)").isZero();
  }

  @Test
  void aValuePreviewCutInsideASurrogatePairStaysValidText() {
    // 36 ASCII characters, then an emoji (two chars): the preview cuts after 37 characters.
    String value = "\"" + "a".repeat(35) + "\uD83D\uDE00" + "b".repeat(20) + "\"";

    String preview = Printer.preview(value.getBytes(StandardCharsets.UTF_8));

    assertThatCode(() -> Text.requireWellFormed("preview", preview)).as("preview '%s'", preview).doesNotThrowAnyException();
  }
}
