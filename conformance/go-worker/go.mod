module github.com/raftoral/raftoral-go/conformance-worker

go 1.26.0

require (
	github.com/raftoral/raftoral-go v0.0.0
	github.com/raftoral/raftoral-go/conformance/gointerp v0.0.0
)

require (
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/grpc v1.85.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/raftoral/raftoral-go => ../../bindings-go

replace github.com/raftoral/raftoral-go/conformance/gointerp => ../gointerp
