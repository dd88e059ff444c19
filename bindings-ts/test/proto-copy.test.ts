import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROTO_DIR } from "../src/proto";

const SOURCE = path.resolve(__dirname, "..", "..", "..", "worker-protocol", "src", "main", "proto");

for (const file of ["worker.proto", "client_api.proto"]) {
  test(`the package's ${file} equals the repository's`, { skip: !fs.existsSync(SOURCE) && "not inside the repository" }, () => {
    assert.equal(fs.readFileSync(path.join(PROTO_DIR, file), "utf8"), fs.readFileSync(path.join(SOURCE, file), "utf8"));
  });
}
