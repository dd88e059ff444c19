module github.com/raftoral/raftoral-go/conformance

go 1.26.0

require (
	github.com/raftoral/raftoral-go v0.0.0
	github.com/raftoral/raftoral-go/conformance/gointerp v0.0.0
)

replace github.com/raftoral/raftoral-go => ../../bindings-go

replace github.com/raftoral/raftoral-go/conformance/gointerp => ../gointerp
