#!/usr/bin/env bash
# Generates raftoral/worker/_pb/ (protobuf messages and gRPC stubs) from the protocol files of
# worker-protocol with grpcio-tools. Usage: scripts/gen_worker_pb.sh [OUT_DIR]
# (default: the package's own _pb directory; tests/worker/test_generated.py regenerates into a
# temporary directory and compares).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
proto_dir="$here/../worker-protocol/src/main/proto"
out="${1:-$here/raftoral/worker/_pb}"
python="${PYTHON:-python3}"
mkdir -p "$out"
"$python" -m grpc_tools.protoc -I "$proto_dir" \
  --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
  "$proto_dir/client_api.proto" "$proto_dir/worker.proto"
# protoc writes top-level imports ("import worker_pb2"); inside the package they must be relative.
for f in "$out"/*_pb2.py "$out"/*_pb2_grpc.py "$out"/*_pb2.pyi; do
  sed -i -E 's/^import (client_api_pb2|worker_pb2) as /from . import \1 as /' "$f"
done
cat > "$out/__init__.py" <<'PY'
"""Generated from worker-protocol/src/main/proto by scripts/gen_worker_pb.sh; do not edit."""
PY
