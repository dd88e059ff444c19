"""Generated from worker-protocol/src/main/proto by scripts/gen_worker_pb.sh; do not edit."""
