package raftoral

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"
)

// The FFI's own cost, without Raft (go test -run '^$' -bench . -benchtime 200000x).

// ctxCallsWorkflow makes n calls of ctx.IsOwner (input: n), then 1,000 CheckpointCompute steps,
// and returns "<ns for the n calls> <median ns from calling CheckpointCompute to its function
// running>": one crossing Go → C → JVM → C → Go, and one Go → JVM → Go callback (the engine
// checks ownership and the position before calling back; Raft comes after).
func ctxCallsWorkflow(ctx *Context, in []byte) ([]byte, error) {
	n, err := strconv.Atoi(string(in))
	if err != nil {
		return nil, err
	}
	began := time.Now()
	for range n {
		ctx.IsOwner()
	}
	calls := time.Since(began)
	var entries []time.Duration
	for range 1000 {
		var entered time.Duration
		called := time.Now()
		if _, err := ctx.CheckpointCompute("step", func() ([]byte, error) {
			entered = time.Since(called)
			return nil, nil
		}); err != nil {
			return nil, err
		}
		entries = append(entries, entered)
	}
	entries = entries[len(entries)/2:] // the second half, once the JIT has compiled the path
	slices.Sort(entries)
	return fmt.Appendf(nil, "%d %d", calls, entries[len(entries)/2]), nil
}

// BenchmarkFFI reports ns per ctx call and the median ns for a compute callback to start.
func BenchmarkFFI(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	h, err := testNode.Start(ctx, "ctx-calls", 1, []byte(strconv.Itoa(b.N)))
	if err != nil {
		b.Fatal(err)
	}
	out, err := h.Result(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var calls, entry int64
	if _, err := fmt.Sscan(string(out), &calls, &entry); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(calls)/float64(b.N), "ns/ctx-call")
	b.ReportMetric(float64(entry), "ns/compute-callback")
}
