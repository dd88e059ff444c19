module github.com/raftoral/raftoral-go/conformance/gointerp

go 1.26.0
