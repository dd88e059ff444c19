// Protobuf strings are UTF-8, and a JavaScript string may hold lone surrogates, which have no UTF-8
// form: protobufjs would write them as invalid bytes, and the node ends a stream that carries
// invalid UTF-8 (after which the run is executed again and sends them again).

/** A high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Whether `text` has a UTF-8 form (no lone surrogate); String.prototype.isWellFormed of ES2024. */
export function isWellFormed(text: string): boolean {
  LONE_SURROGATE.lastIndex = 0;
  return !LONE_SURROGATE.test(text);
}

/** `text` with U+FFFD for each lone surrogate; String.prototype.toWellFormed of ES2024. */
export function toWellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, "\uFFFD");
}

/** An error as the protocol's Failure: its name and message, as UTF-8 text. */
export function failureOf(error: unknown): { type: string; message: string } {
  if (error instanceof Error) {
    return { type: toWellFormed((error.name || "Error").slice(0, 256)), message: toWellFormed(String(error.message)) };
  }
  return { type: "Error", message: toWellFormed(String(error)) };
}
