#!/usr/bin/env bash
# Regenerates workerpb/ from worker-protocol's .proto files (the contract; never edit the
# generated files by hand). Pinned plugin versions, so that a regeneration gives the same files:
# TestGeneratedCodeIsCurrent checks that.
#
#   ./gen.sh            # writes workerpb/*.pb.go
#   ./gen.sh OUTDIR     # writes OUTDIR/*.pb.go instead (what the test does)
#
# protoc: $PROTOC, else protoc on PATH, else the protoc Maven downloads for the Java build
# (~/.m2/repository/com/google/protobuf/protoc/*/protoc-*-linux-x86_64.exe, or $M2_REPO).
# The plugins are installed from the Go module proxy into a temporary GOBIN.
set -euo pipefail

PROTOC_GEN_GO_VERSION=v1.36.12     # = google.golang.org/protobuf in go.mod
PROTOC_GEN_GO_GRPC_VERSION=v1.5.1

here="$(cd "$(dirname "$0")" && pwd)"
protos="$here/../../worker-protocol/src/main/proto"
out="${1:-$here/workerpb}"
pkg=github.com/raftoral/raftoral-go/worker/workerpb

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

protoc="${PROTOC:-}"
if [[ -z "$protoc" ]] && command -v protoc >/dev/null; then
  protoc="$(command -v protoc)"
fi
if [[ -z "$protoc" ]]; then
  m2="${M2_REPO:-$HOME/.m2/repository}"
  found="$(ls "$m2"/com/google/protobuf/protoc/*/protoc-*-linux-x86_64.exe 2>/dev/null | sort -V | tail -1 || true)"
  if [[ -n "$found" ]]; then
    # Maven's copy is not executable.
    cp "$found" "$tmp/protoc"
    chmod +x "$tmp/protoc"
    protoc="$tmp/protoc"
  fi
fi
if [[ -z "$protoc" ]]; then
  echo "gen.sh: no protoc (set PROTOC, or build the Java modules once so Maven fetches it)" >&2
  exit 2
fi

GOBIN="$tmp/bin" GOFLAGS=-mod=mod go install \
  "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION" \
  >/dev/null
GOBIN="$tmp/bin" GOFLAGS=-mod=mod go install \
  "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION" \
  >/dev/null

mkdir -p "$tmp/gen"
# client_api.proto has no go_package (it is the Java client's file): map it here, into the same
# Go package, since worker.proto only needs its ErrorCode.
PATH="$tmp/bin:$PATH" "$protoc" -I "$protos" \
  --go_out="$tmp/gen" --go_opt=paths=source_relative \
  --go_opt=Mworker.proto=$pkg --go_opt=Mclient_api.proto=$pkg \
  --go-grpc_out="$tmp/gen" --go-grpc_opt=paths=source_relative \
  --go-grpc_opt=Mworker.proto=$pkg --go-grpc_opt=Mclient_api.proto=$pkg \
  worker.proto client_api.proto

mkdir -p "$out"
cp "$tmp"/gen/*.go "$out"/
