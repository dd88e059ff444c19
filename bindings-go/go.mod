module github.com/raftoral/raftoral-go

go 1.26
