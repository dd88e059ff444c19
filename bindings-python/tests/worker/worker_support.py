"""What the worker tests share without importing grpc (so that a machine without it skips them)."""

#: Each test module that needs grpcio starts with pytest.importorskip("grpc", reason=NO_GRPC_REASON).
NO_GRPC_REASON = "grpcio and protobuf are not installed: pip install 'raftoral[worker]' (see README, Workers)"
