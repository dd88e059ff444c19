import { RaftoralError } from "./errors";

/**
 * Encodes a value as the UTF-8 JSON bytes the protocol carries. Whatever JSON.stringify cannot
 * encode faithfully (undefined, a function, a symbol, a BigInt, a cycle) raises a RaftoralError
 * ERR_INVALID_ARGUMENT naming `what`, instead of sending something the function did not mean; a
 * value over `maxBytes` (when > 0) raises ERR_PAYLOAD_TOO_LARGE.
 */
export function encodeJson(value: unknown, what: string, maxBytes = 0): Buffer {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new RaftoralError("ERR_INVALID_ARGUMENT",
      `${what} cannot be encoded as JSON: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
  if (text === undefined) {
    throw new RaftoralError("ERR_INVALID_ARGUMENT",
      `${what} cannot be encoded as JSON: ${value === undefined ? "undefined" : typeof value} has no JSON form`);
  }
  const bytes = Buffer.from(text, "utf8");
  if (maxBytes > 0 && bytes.length > maxBytes) {
    // Sent, it could exceed the node's message limit and end the stream (and the re-executed run
    // would send it again): refused here, as the node would refuse it.
    throw new RaftoralError("ERR_PAYLOAD_TOO_LARGE",
      `${what} is ${bytes.length} bytes, above the limit of ${maxBytes} bytes (the node's max_value_bytes)`);
  }
  return bytes;
}

/** Decodes UTF-8 JSON bytes from the node; empty bytes (an unset value) read as null. */
export function decodeJson<T>(bytes: Uint8Array | undefined, what: string): T {
  if (!bytes || bytes.length === 0) {
    return null as T;
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new RaftoralError("ERR_INVALID_ARGUMENT",
      `${what} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}
