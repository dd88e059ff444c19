package raftoral

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestConfigJSON(t *testing.T) {
	js, err := json.Marshal(Config{
		NodeID: 2, Members: map[uint64]string{1: "h:1", 2: "h:2"}, DataDir: "/d", Join: []string{"a:1"},
		ElectionTimeout: 1500 * time.Millisecond, PayloadLimitBytes: 100, ExecutionGroups: 3, MaxInFlightEntries: 8,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"node_id": 2.0, "members": map[string]any{"1": "h:1", "2": "h:2"}, "data_dir": "/d", "join": []any{"a:1"},
		"election_timeout_ms": 1500.0, "payload_limit_bytes": 100.0, "execution_groups": 3.0, "max_in_flight_entries": 8.0,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("config JSON %s", js)
	}
	if _, err := json.Marshal(Config{RequestTimeout: time.Microsecond}); err == nil {
		t.Fatal("a sub-millisecond timeout was accepted")
	}
}

func TestConfigCarriesEveryNodeOption(t *testing.T) {
	no := false
	js, err := json.Marshal(Config{SnapshotThreshold: 50, BatchLinger: 300 * time.Microsecond, RejoinAfterRemoval: &no,
		SnapshotTransferRate: 52428800, SnapshotChunkBytes: 262144})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"snapshot_threshold": 50.0, "batch_linger_us": 300.0, "rejoin_after_removal": false,
		"snapshot_transfer_rate": 52428800.0, "snapshot_chunk_bytes": 262144.0}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("config JSON %s", js)
	}
	js, _ = json.Marshal(Config{BatchLinger: -1})
	if string(js) != `{"batch_linger_us":0}` {
		t.Fatalf("a negative linger (never wait) became %s", js)
	}
	// The engine checks the ranges and names the key.
	for key, cfg := range map[string]Config{
		"snapshot_threshold":                          {SnapshotThreshold: -1},
		"batch_linger_us":                             {BatchLinger: 2 * time.Second},
		"snapshot_transfer_rate must be >= 0, got -1": {SnapshotTransferRate: -1},
		"snapshot_chunk_bytes must be between 65536 and 8388608, got 65535":   {SnapshotChunkBytes: 65535},
		"snapshot_chunk_bytes must be between 65536 and 8388608, got 8388609": {SnapshotChunkBytes: 8388609},
	} {
		_, err := NewNode(cfg)
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s out of range: %v", key, err)
		}
	}
}

func TestErrorMatchesTheSentinelOfItsCode(t *testing.T) {
	for i, sentinel := range sentinels[1:] { // [0] is CodeOK, no error
		code := Code(i + 1)
		err := fmt.Errorf("wrapped: %w", &Error{Code: code, Message: "m"})
		if !errors.Is(err, sentinel) {
			t.Errorf("%v does not match %v", code, sentinel)
		}
		if code != CodeNotFound && errors.Is(err, ErrNotFound) {
			t.Errorf("%v matches ErrNotFound", code)
		}
		if strings.HasPrefix(code.String(), "raftoral status") {
			t.Errorf("code %d has no name", code)
		}
	}
	e := &Error{Code: CodeWorkflowFailed, Message: "bad order", Detail: "ValueError"}
	if e.Error() != "raftoral: ValueError: bad order (RAFTORAL_ERR_WORKFLOW_FAILED)" {
		t.Fatalf("Error() = %q", e.Error())
	}
}

func TestBadInputReturnsErrors(t *testing.T) {
	ctx := waitCtx(t)
	registrations := liveRegistrations.Load()
	echo := func(*Context, []byte) ([]byte, error) { return nil, nil }
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"nil workflow", testNode.RegisterWorkflow("x", 1, nil), ErrInvalidArgument},
		{"nil typed workflow", RegisterTyped[int, int](testNode, "x", 1, nil), ErrInvalidArgument},
		{"version 0", testNode.RegisterWorkflow("x", 0, echo), ErrInvalidArgument},
		{"version too large", testNode.RegisterWorkflow("x", 1<<33, echo), ErrInvalidArgument},
		{"bad mode", testNode.RegisterWorkflow("x", 1, echo, WithMode(7)), ErrInvalidArgument},
		{"negative retention", testNode.RegisterWorkflow("x", 1, echo, KeepLastPerKey(-1)), ErrInvalidArgument},
		{"lowest retention", testNode.RegisterWorkflow("x", 1, echo, KeepLastPerKey(math.MinInt64)), ErrInvalidArgument},
		{"NUL in type", testNode.RegisterWorkflow("a\x00b", 1, echo), ErrInvalidArgument},
		{"registered twice", testNode.RegisterWorkflow("echo", 1, echo), ErrAlreadyRegistered},
		{"invalid config", second(NewNode(Config{ExecutionGroups: 5000})), ErrInvalidArgument},
		{"unknown type", second(testNode.Start(ctx, "nope", 1, nil)), ErrNotRegistered},
		{"unknown version", second(testNode.Start(ctx, "echo", 9, nil)), ErrNotRegistered},
		{"start version 0", second(testNode.Start(ctx, "echo", 0, nil)), ErrInvalidArgument},
		{"oversized input", second(testNode.Start(ctx, "echo", 1, make([]byte, 2*payloadLimit))), ErrPayloadTooLarge},
		{"NUL in id", second(testNode.Start(ctx, "echo", 1, nil, WithWorkflowID("a\x00"))), ErrInvalidArgument},
		{"describe unknown", second(testNode.Describe("no-such-workflow")), ErrNotFound},
		{"terminate unknown", second(testNode.Terminate("no-such-workflow", "x")), ErrNotFound},
		{"result unknown", second(testNode.Handle("no-such-workflow").Result(ctx)), ErrNotFound},
		{"describe invalid UTF-8", second(testNode.Describe("\xe2\x82")), ErrInvalidArgument},
		{"list bad status", second(testNode.List(ListQuery{Statuses: []Status{"SLEEPING"}})), ErrInvalidArgument},
		{"list bad limit", second(testNode.List(ListQuery{Limit: 5000})), ErrInvalidArgument},
		{"nil node", (*Node)(nil).Open(), ErrInvalidArgument},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v; want %v", c.name, c.err, c.want)
		}
	}
	// Refused registrations keep no handle.
	if live := liveRegistrations.Load(); live != registrations {
		t.Errorf("%d registrations live, want %d", live, registrations)
	}
}

// TestKeepLastPerKeyRegistersTheTypesRetention: the option is checked by the library (a
// negative one names keep_last_per_key), the refused call registers nothing, and a type
// registered with it (and a mode) runs.
func TestKeepLastPerKeyRegistersTheTypesRetention(t *testing.T) {
	ctx := waitCtx(t)
	typ := fmt.Sprintf("kept-%d", time.Now().UnixNano())
	echo := func(_ *Context, in []byte) ([]byte, error) { return in, nil }
	err := testNode.RegisterWorkflow(typ, 1, echo, KeepLastPerKey(-3))
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalidArgument || !strings.Contains(e.Message, "keep_last_per_key") {
		t.Fatalf("negative retention: %v", err)
	}
	if err := testNode.RegisterWorkflow(typ, 1, echo, WithMode(OwnerOnly), KeepLastPerKey(2)); err != nil {
		t.Fatalf("register: %v", err)
	}
	if err := testNode.RegisterWorkflow(typ, 2, echo, KeepLastPerKey(math.MaxInt64)); err != nil {
		t.Fatalf("register a retention that keeps everything: %v", err)
	}
	for version, input := range map[int]string{1: `"kept"`, 2: `"all"`} {
		h, err := testNode.Start(ctx, typ, version, []byte(input))
		if err != nil {
			t.Fatalf("start v%d: %v", version, err)
		}
		out, err := h.Result(ctx)
		if err != nil || string(out) != input {
			t.Fatalf("result v%d: %q, %v", version, out, err)
		}
	}
}

// TestShutdown runs in a child process: Shutdown is final for the process.
func TestShutdown(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=shutdown")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("shutdown child: %v\n%s", err, out)
	}
}

// shutdownChildMain checks, in a process of its own, that Shutdown closes the open nodes and
// makes every later call fail with ErrShutDown.
func shutdownChildMain() int {
	n, err := NewNode(Config{NodeID: 1, RaftAddress: fmt.Sprintf("127.0.0.1:%d", freePort())})
	if err == nil {
		err = n.RegisterWorkflow("echo", 1, func(c *Context, in []byte) ([]byte, error) { return in, nil })
	}
	if err == nil {
		err = n.Open()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	registrations := liveRegistrations.Load()
	if err := Shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, "Shutdown:", err)
		return 1
	}
	failures := 0
	check := func(what string, err, want error) {
		if !errors.Is(err, want) {
			fmt.Fprintf(os.Stderr, "%s: %v; want %v\n", what, err, want)
			failures++
		}
	}
	check("second Shutdown", Shutdown(), nil)
	check("Start", second(n.Start(context.Background(), "echo", 1, nil)), ErrShutDown)
	check("Describe", second(n.Describe("x")), ErrShutDown)
	check("NewNode", second(NewNode(Config{})), ErrShutDown)
	check("Init", Init(InitOptions{}), ErrShutDown)
	check("Close", n.Close(), nil) // Shutdown closed it already
	if registrations != 1 || liveRegistrations.Load() != 0 {
		fmt.Fprintf(os.Stderr, "registrations live: %d before Shutdown, %d after\n", registrations, liveRegistrations.Load())
		failures++
	}
	if failures > 0 {
		return 1
	}
	return 0
}

func second[T any](_ T, err error) error { return err }

func TestClosedNodeReturnsErrNodeClosed(t *testing.T) {
	ctx := waitCtx(t)
	n, err := NewNode(Config{NodeID: 1, RaftAddress: fmt.Sprintf("127.0.0.1:%d", freePort())})
	if err != nil {
		t.Fatal(err)
	}
	registrations := liveRegistrations.Load()
	if err := n.RegisterWorkflow("echo", 1, func(c *Context, in []byte) ([]byte, error) { return in, nil }); err != nil {
		t.Fatal(err)
	}
	ticks := func(c *Context, in []byte) ([]byte, error) {
		for {
			if _, err := c.Checkpoint("tick", nil); err != nil {
				return nil, err // aborted when the node closes
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err := n.RegisterWorkflow("ticks", 1, ticks); err != nil {
		t.Fatal(err)
	}
	// Not open yet: no id, no workflows.
	if _, err := n.ID(); !errors.Is(err, ErrNodeClosed) {
		t.Fatalf("ID before Open: %v", err)
	}
	if err := n.Open(); err != nil {
		t.Fatal(err)
	}
	if id, err := n.ID(); err != nil || id != 1 {
		t.Fatalf("ID = %d, %v", id, err)
	}
	if addr, err := n.APIAddress(); err != nil || addr != "" {
		t.Fatalf("APIAddress = %q, %v; want none", addr, err)
	}
	if addr, err := n.HTTPAddress(); err != nil || addr != "" {
		t.Fatalf("HTTPAddress = %q, %v; want none", addr, err)
	}
	h, err := n.Start(ctx, "echo", 1, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := h.Result(ctx); err != nil || string(out) != "x" {
		t.Fatalf("Result = %q, %v", out, err)
	}
	if err := n.Open(); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("second Open: %v", err)
	}
	// A Result waiting while the node is closed returns ErrNodeClosed.
	running, err := n.Start(ctx, "ticks", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan error, 1)
	go func() {
		_, err := running.Result(ctx)
		waiting <- err
	}()
	for {
		info, err := running.Describe()
		if err != nil {
			t.Fatal(err)
		}
		if info.CheckpointCount > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-waiting; !errors.Is(err, ErrNodeClosed) {
		t.Fatalf("Result waiting across Close: %v; want ErrNodeClosed", err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Close ran the registration's finalizer, which released its handle.
	if live := liveRegistrations.Load(); live != registrations {
		t.Fatalf("%d registrations live after Close, want %d", live, registrations)
	}
	echo := func(*Context, []byte) ([]byte, error) { return nil, nil }
	for name, err := range map[string]error{
		"Open":             n.Open(),
		"RegisterWorkflow": n.RegisterWorkflow("other", 1, echo),
		"ID":               second(n.ID()),
		"APIAddress":       second(n.APIAddress()),
		"HTTPAddress":      second(n.HTTPAddress()),
		"Start":            second(n.Start(ctx, "echo", 1, nil)),
		"Result":           second(h.Result(ctx)),
		"Describe":         second(h.Describe()),
		"Terminate":        second(h.Terminate("x")),
		"List":             second(n.List(ListQuery{})),
	} {
		if !errors.Is(err, ErrNodeClosed) {
			t.Errorf("%s on a closed node: %v; want ErrNodeClosed", name, err)
		}
	}
	if got := n.String(); got != "raftoral.Node(closed)" {
		t.Errorf("String() = %q", got)
	}
}

func TestStartWithCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := testNode.Start(ctx, "echo", 1, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Start with a cancelled context: %v", err)
	}
}

func TestNodeInfo(t *testing.T) {
	if id, err := testNode.ID(); err != nil || id != 1 {
		t.Fatalf("ID = %d, %v", id, err)
	}
	if got := testNode.String(); got != "raftoral.Node(1)" {
		t.Fatalf("String() = %q", got)
	}
	if v := ABIVersion(); v != 1 {
		t.Fatalf("ABIVersion() = %d", v)
	}
}
