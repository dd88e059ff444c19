import { debuglog } from "node:util";

/** Where the library logs; defaults to `util.debuglog("raftoral")` (shown with NODE_DEBUG=raftoral). */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const debug = debuglog("raftoral");

export const defaultLogger: Logger = {
  debug: (m) => debug("%s", m),
  info: (m) => debug("%s", m),
  warn: (m) => debug("WARN %s", m),
  error: (m) => debug("ERROR %s", m),
};
