package raftoral

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The lifetime guarantees of a node (raftoral.h, raftoral_node_start and raftoral_node_close):
// Open returns with a quorum or ErrTimeout, Close interrupts a blocked Open, Close waits for
// workflow functions in flight, and a start names the workflow id it used.

// A generated id names its execution group (here the node's only one, 0) before a version 4 UUID.
var generatedID = regexp.MustCompile(`^g0-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestAFailedStartNamesItsWorkflowID(t *testing.T) {
	ctx := waitCtx(t)
	var e *Error
	_, err := testNode.Start(ctx, "nope", 1, nil)
	if !errors.Is(err, ErrNotRegistered) || !errors.As(err, &e) || !generatedID.MatchString(e.WorkflowID) {
		t.Fatalf("start without an id: %v (workflow id %q); want ErrNotRegistered naming a generated id", err, workflowIDOf(err))
	}
	_, err = testNode.Start(ctx, "nope", 1, nil, WithWorkflowID("order-88"))
	if !errors.As(err, &e) || e.WorkflowID != "order-88" {
		t.Fatalf("start with an id: %v (workflow id %q); want order-88", err, workflowIDOf(err))
	}
	h, err := testNode.Start(ctx, "echo", 1, []byte("x"))
	if err != nil || !generatedID.MatchString(h.ID()) {
		t.Fatalf("Start = %v, %v; want a generated id", h, err)
	}
}

func workflowIDOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.WorkflowID
	}
	return ""
}

func loneNode(t *testing.T, cfg Config) *Node {
	t.Helper()
	cfg.NodeID = 1
	if len(cfg.Members) == 0 {
		cfg.RaftAddress = fmt.Sprintf("127.0.0.1:%d", freePort())
	}
	n, err := NewNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// sleepy records that it runs, sleeps without any checkpoint, and records that it returned.
func sleepy(state *atomic.Int32, d time.Duration) WorkflowFunc {
	return func(*Context, []byte) ([]byte, error) {
		state.Store(1)
		time.Sleep(d)
		state.Store(2)
		return nil, nil
	}
}

func TestCloseWaitsForWorkflowFunctionsInFlight(t *testing.T) {
	ctx := waitCtx(t)
	registrations := liveRegistrations.Load()
	n := loneNode(t, Config{})
	var state atomic.Int32
	var polling, sawStop atomic.Bool
	if err := n.RegisterWorkflow("sleepy", 1, sleepy(&state, 1500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	// Waits by polling IsTerminated, which turns true once the node stops.
	poller := func(c *Context, _ []byte) ([]byte, error) {
		polling.Store(true)
		for i := 0; i < 3000; i++ {
			if c.IsTerminated() {
				sawStop.Store(true)
				return nil, nil
			}
			time.Sleep(20 * time.Millisecond)
		}
		return nil, nil
	}
	if err := n.RegisterWorkflow("poller", 1, poller); err != nil {
		t.Fatal(err)
	}
	if err := n.Open(); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"sleepy", "poller"} {
		if _, err := n.Start(ctx, typ, 1, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both workflows to run", func() bool { return state.Load() == 1 && polling.Load() })
	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if state.Load() != 2 || !sawStop.Load() {
		t.Fatalf("Close returned while a workflow function ran (sleepy state %d, poller saw the stop: %v)", state.Load(), sawStop.Load())
	}
	if live := liveRegistrations.Load(); live != registrations {
		t.Fatalf("%d registrations live after Close, want %d", live, registrations)
	}
}

func TestCloseReturnsErrTimeoutForAFunctionOutlivingTheGrace(t *testing.T) {
	ctx := waitCtx(t)
	registrations := liveRegistrations.Load()
	n := loneNode(t, Config{CloseGrace: 200 * time.Millisecond})
	var state atomic.Int32
	if err := n.RegisterWorkflow("sleepy", 1, sleepy(&state, 3*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := n.Open(); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Start(ctx, "sleepy", 1, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the workflow to run", func() bool { return state.Load() == 1 })
	if err := n.Close(); !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("Close: %v; want ErrTimeout", err)
	}
	if state.Load() != 1 || liveRegistrations.Load() != registrations+1 {
		t.Fatalf("state %d, %d registrations live: the registration was released under its running function", state.Load(), liveRegistrations.Load())
	}
	// Released once the function has returned.
	waitFor(t, "the registration to be released", func() bool { return liveRegistrations.Load() == registrations })
	if state.Load() != 2 {
		t.Fatalf("released before the function returned")
	}
}

func deadPeers(startTimeout time.Duration) Config {
	return Config{
		Members: map[uint64]string{
			1: fmt.Sprintf("127.0.0.1:%d", freePort()),
			2: fmt.Sprintf("127.0.0.1:%d", freePort()),
			3: fmt.Sprintf("127.0.0.1:%d", freePort()),
		},
		StartTimeout:    startTimeout,
		ElectionTimeout: 300 * time.Millisecond,
	}
}

func TestOpenWithoutAQuorumReturnsErrTimeout(t *testing.T) {
	n := loneNode(t, deadPeers(2*time.Second))
	if err := n.Open(); !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "quorum") {
		t.Fatalf("Open: %v; want ErrTimeout", err)
	}
	if _, err := n.ID(); !errors.Is(err, ErrNodeClosed) {
		t.Fatalf("ID after a failed Open: %v; want ErrNodeClosed", err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCloseInterruptsABlockedOpen(t *testing.T) {
	n := loneNode(t, deadPeers(10*time.Minute))
	opened := make(chan error, 1)
	go func() { opened <- n.Open() }()
	waitFor(t, "Open to wait for its peers", func() bool {
		_, err := n.ID()
		return err != nil && strings.Contains(err.Error(), "starting")
	})
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-opened:
		if !errors.Is(err, ErrNodeClosed) {
			t.Fatalf("Open: %v; want ErrNodeClosed", err)
		}
	case <-time.After(wait):
		t.Fatal("Open still blocked after Close")
	}
}
