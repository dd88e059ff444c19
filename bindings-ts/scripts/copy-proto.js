// Copies the protocol's .proto files from the repository into proto/, where the library loads them
// at run time (the published package carries its own copy; the repository's files are the source).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const FILES = ["worker.proto", "client_api.proto"];
const src = path.resolve(__dirname, "..", "..", "worker-protocol", "src", "main", "proto");
const dst = path.resolve(__dirname, "..", "proto");

if (!fs.existsSync(src)) {
  // Built from an unpacked package, outside the repository: its proto/ is the copy to use.
  const missing = FILES.filter((f) => !fs.existsSync(path.join(dst, f)));
  if (missing.length > 0) {
    console.error(`copy-proto: ${src} does not exist and proto/ lacks ${missing.join(", ")}`);
    process.exit(1);
  }
  process.exit(0);
}
fs.mkdirSync(dst, { recursive: true });
for (const f of FILES) {
  fs.copyFileSync(path.join(src, f), path.join(dst, f));
}
