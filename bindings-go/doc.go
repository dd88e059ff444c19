// Package raftoral embeds a Raftoral node in a Go program: durable workflows written as Go
// functions, replicated with Raft, that survive the crash of the process running them.
//
// The engine runs on the JVM; libraftoral.so (the C ABI of ffi-c-api, raftoral.h) hosts that
// JVM inside this process, and this package binds it with cgo. One process embeds at most one
// JVM: Init starts it (NewNode does so implicitly) and Shutdown stops it for good — call
// Shutdown before the process exits.
//
// A workflow is a func(*Context, []byte) ([]byte, error). Its side effects go in
// Context.CheckpointCompute, which runs them once in the whole cluster and commits their
// results; a workflow whose node dies continues on another member of its execution group from
// its committed checkpoints:
//
//	node, err := raftoral.NewNode(raftoral.Config{NodeID: 1, Members: members, DataDir: dir})
//	if err != nil { ... }
//	defer node.Close()
//	err = raftoral.RegisterTyped(node, "order", 1, func(ctx *raftoral.Context, o Order) (Receipt, error) {
//		charge, err := raftoral.CheckpointCompute(ctx, "charge", func() (Charge, error) { return pay(o) })
//		if err != nil {
//			return Receipt{}, err
//		}
//		...
//	})
//	err = node.Open()
//	h, err := raftoral.StartTyped(ctx, node, "order", 1, order, raftoral.WithWorkflowID(order.ID))
//	receipt, err := raftoral.ResultAs[Receipt](ctx, h)
//
// Errors are values: an *Error with a Code, matching the sentinel of its code with errors.Is
// (ErrNotFound, ErrWorkflowFailed, ErrTerminated, ...). A panic in a workflow makes it FAILED
// with error type "panic"; it never unwinds into the engine.
//
// Open returns once the node is part of a cluster with a quorum (or ErrTimeout after
// Config.StartTimeout); Close waits up to Config.CloseGrace for workflow functions still
// running and releases their registrations only after they return. A Go program cannot fork,
// so the library's guard for forked children (ErrForked) does not concern it.
//
// Workflow functions run on the engine's threads, which cgo adopts; the JVM runs with -Xrs and
// its signal handlers carry SA_ONSTACK, so the Go runtime keeps its own signal handling
// (SIGPIPE, recovered nil-pointer panics) while the JVM is loaded.
package raftoral
