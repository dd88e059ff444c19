package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/raftoral/raftoral-go/worker"
	pb "github.com/raftoral/raftoral-go/worker/workerpb"
)

type order struct {
	ID    string `json:"id"`
	Items int    `json:"items"`
}

type receipt struct {
	ID     string `json:"id"`
	Charge string `json:"charge"`
	Count  int    `json:"count"`
}

func newWorker(f *fakeNode, opts ...func(*worker.Options)) *worker.Worker {
	o := worker.Options{Target: f.addr, WorkerID: "test-worker", Logger: testLogger(), MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	for _, fn := range opts {
		fn(&o)
	}
	return worker.New(o)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestRegisterMessage(t *testing.T) {
	f := startFake(t)
	registered := make(chan *pb.Registered, 1)
	w := newWorker(f, func(o *worker.Options) {
		o.MaxConcurrentRuns = 7
		o.OnRegistered = func(r *pb.Registered) { registered <- r }
	})
	must(t, worker.Register(w, "order", 2, func(ctx *worker.Context, o order) (receipt, error) { return receipt{}, nil },
		worker.WithMode(worker.OwnerOnly), worker.KeepLastPerKey(3)))
	must(t, w.RegisterWorkflow("raw", 1, func(ctx *worker.Context, in []byte) ([]byte, error) { return in, nil }))
	runWorker(t, w)
	_, reg := f.acceptRegistered(t, nil)
	if reg.GetWorkerId() != "test-worker" || reg.GetMaxConcurrentRuns() != 7 || !strings.HasPrefix(reg.GetLibrary(), "raftoral-go/") {
		t.Fatalf("Register = %v", reg)
	}
	if len(reg.GetProtocolVersions()) != 1 || reg.GetProtocolVersions()[0] != 1 {
		t.Fatalf("protocol versions %v, want [1]", reg.GetProtocolVersions())
	}
	types := reg.GetTypes()
	if len(types) != 2 {
		t.Fatalf("types %v", types)
	}
	if ty := types[0]; ty.GetName() != "order" || ty.GetVersion() != 2 || ty.GetMode() != pb.ExecutionMode_OWNER_ONLY || ty.GetKeepLastPerKey() != 3 {
		t.Fatalf("type 0 = %v", ty)
	}
	if ty := types[1]; ty.GetName() != "raw" || ty.GetVersion() != 1 || ty.GetMode() != pb.ExecutionMode_HOT_STANDBY || ty.GetKeepLastPerKey() != 0 {
		t.Fatalf("type 1 = %v", ty)
	}
	select {
	case r := <-registered:
		if r.GetNodeId() != 1 || r.GetClusterId() != "test" {
			t.Fatalf("OnRegistered got %v", r)
		}
	case <-time.After(wait):
		t.Fatal("OnRegistered was not called")
	}
}

// A checkpoint returns the committed value (not the proposed one); seq counts per key from 0;
// the result goes out as WorkflowResult and the node's Ack closes the run.
func TestCheckpointsAndResult(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	got := make(chan []int, 1)
	must(t, worker.Register(w, "order", 1, func(ctx *worker.Context, o order) (receipt, error) {
		if ctx.WorkflowID() != "o-1" || ctx.Type() != "order" || ctx.Version() != 1 || !ctx.IsOwner() || ctx.IsTerminated() {
			return receipt{}, fmt.Errorf("context: %s %s %d %v %v", ctx.WorkflowID(), ctx.Type(), ctx.Version(), ctx.IsOwner(), ctx.IsTerminated())
		}
		a0, err := worker.Checkpoint(ctx, "a", 1)
		if err != nil {
			return receipt{}, err
		}
		b0, err := worker.Checkpoint(ctx, "b", 2)
		if err != nil {
			return receipt{}, err
		}
		a1, err := worker.Checkpoint(ctx, "a", 3)
		if err != nil {
			return receipt{}, err
		}
		got <- []int{a0, b0, a1}
		return receipt{ID: o.ID, Count: a0 + b0 + a1}, nil
	}))
	runWorker(t, w)
	c, _ := f.acceptRegistered(t, nil)
	c.execute(&pb.Execute{Run: 5, WorkflowId: "o-1", Type: "order", Input: []byte(`{"id":"o-1","items":2}`), IsOwner: true})
	for i, want := range []struct {
		key   string
		seq   uint64
		value string
		reply string
	}{{"a", 0, "1", "10"}, {"b", 0, "2", "20"}, {"a", 1, "3", "30"}} {
		p := c.recvCheckpoint(t)
		if p.GetRun() != 5 || p.GetKey() != want.key || p.GetSeq() != want.seq || string(p.GetValue()) != want.value || p.GetCompute() {
			t.Fatalf("proposal %d = %v, want %s/%d = %s", i, p, want.key, want.seq, want.value)
		}
		c.commit(5, want.key, want.seq, want.reply)
	}
	res := c.recvResult(t)
	var r receipt
	if err := json.Unmarshal(res.GetResult(), &r); err != nil || res.GetRun() != 5 || r != (receipt{ID: "o-1", Count: 60}) {
		t.Fatalf("result %v (%v): %+v", res, err, r)
	}
	c.ack(5)
	if v := <-got; v[0] != 10 || v[1] != 20 || v[2] != 30 {
		t.Fatalf("the function saw %v, want the committed values [10 20 30]", v)
	}
}

// A compute step runs only on RunCompute, once, and returns the committed value.
func TestCheckpointCompute(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	var runs atomic.Int32
	must(t, worker.Register(w, "pay", 1, func(ctx *worker.Context, o order) (receipt, error) {
		charge, err := worker.CheckpointCompute(ctx, "charge", func(c context.Context) (string, error) {
			runs.Add(1)
			if c.Err() != nil {
				return "", c.Err()
			}
			return "ch-" + o.ID, nil
		})
		return receipt{ID: o.ID, Charge: charge}, err
	}))
	runWorker(t, w)
	c, _ := f.acceptRegistered(t, nil)
	c.execute(&pb.Execute{Run: 1, Type: "pay", Input: []byte(`{"id":"x"}`), IsOwner: true})
	p := c.recvCheckpoint(t)
	if !p.GetCompute() || p.GetKey() != "charge" || p.GetSeq() != 0 || len(p.GetValue()) != 0 {
		t.Fatalf("proposal %v, want a compute proposal of charge/0 without value", p)
	}
	if runs.Load() != 0 {
		t.Fatal("the compute function ran before RunCompute")
	}
	c.runCompute(1, "charge", 0)
	m := c.recv(t)
	cr := m.GetComputeResult()
	if cr == nil || cr.GetRun() != 1 || cr.GetKey() != "charge" || cr.GetSeq() != 0 || string(cr.GetValue()) != `"ch-x"` {
		t.Fatalf("got %v, want ComputeResult charge/0 = \"ch-x\"", m)
	}
	c.commit(1, "charge", 0, `"committed"`)
	res := c.recvResult(t)
	if string(res.GetResult()) != `{"id":"x","charge":"committed","count":0}` {
		t.Fatalf("result %s", res.GetResult())
	}
	if runs.Load() != 1 {
		t.Fatalf("compute ran %d times, want 1", runs.Load())
	}
}

// A compute proposal the node answers with the committed value (a replay, or a member that is
// not the owner) never runs the function.
func TestComputeReplayDoesNotRun(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	var runs atomic.Int32
	must(t, worker.Register(w, "pay", 1, func(ctx *worker.Context, _ order) (string, error) {
		return worker.CheckpointCompute(ctx, "charge", func(context.Context) (string, error) {
			runs.Add(1)
			return "local", nil
		})
	}))
	runWorker(t, w)
	c, _ := f.acceptRegistered(t, nil)
	c.execute(&pb.Execute{Run: 2, Type: "pay", Input: []byte(`{}`)})
	p := c.recvCheckpoint(t)
	if !p.GetCompute() {
		t.Fatalf("proposal %v", p)
	}
	c.commit(2, "charge", 0, `"from-owner"`)
	if res := c.recvResult(t); string(res.GetResult()) != `"from-owner"` {
		t.Fatalf("result %s", res.GetResult())
	}
	if runs.Load() != 0 {
		t.Fatalf("compute ran %d times, want 0", runs.Load())
	}
}

// Execute with history: the calls at those positions are answered locally (a compute step's
// function does not run), the first call past them goes out with the right seq.
func TestExecuteWithHistory(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	var computes atomic.Int32
	seen := make(chan []string, 1)
	must(t, w.RegisterWorkflow("hist", 1, func(ctx *worker.Context, _ []byte) ([]byte, error) {
		var vals []string
		for _, step := range []struct {
			key     string
			compute bool
		}{{"a", false}, {"b", true}, {"a", false}, {"a", false}, {"b", true}} {
			var v []byte
			var err error
			if step.compute {
				v, err = ctx.CheckpointCompute(step.key, func(context.Context) ([]byte, error) {
					computes.Add(1)
					return []byte(`"computed"`), nil
				})
			} else {
				v, err = ctx.Checkpoint(step.key, []byte(`"mine"`))
			}
			if err != nil {
				return nil, err
			}
			vals = append(vals, string(v))
		}
		seen <- vals
		return []byte(`"done"`), nil
	}))
	runWorker(t, w)
	c, _ := f.acceptRegistered(t, nil)
	c.execute(&pb.Execute{Run: 9, Type: "hist", Input: []byte(`null`), History: []*pb.CheckpointValue{
		{Key: "a", Seq: 0, Value: []byte(`"a0"`)}, {Key: "b", Seq: 0, Value: []byte(`"b0"`)}, {Key: "a", Seq: 1, Value: []byte(`"a1"`)},
	}})
	p := c.recvCheckpoint(t)
	if p.GetKey() != "a" || p.GetSeq() != 2 || p.GetCompute() {
		t.Fatalf("first proposal %v, want a/2 (positions a/0, b/0, a/1 come from the history)", p)
	}
	c.commit(9, "a", 2, `"a2"`)
	p = c.recvCheckpoint(t)
	if p.GetKey() != "b" || p.GetSeq() != 1 || !p.GetCompute() {
		t.Fatalf("second proposal %v, want compute b/1", p)
	}
	c.runCompute(9, "b", 1)
	if cr := c.recv(t).GetComputeResult(); cr == nil || cr.GetSeq() != 1 {
		t.Fatalf("want ComputeResult b/1, got %v", cr)
	}
	c.commit(9, "b", 1, `"b1"`)
	c.recvResult(t)
	if got := strings.Join(<-seen, ","); got != `"a0","b0","a1","a2","b1"` {
		t.Fatalf("values %s", got)
	}
	if computes.Load() != 1 {
		t.Fatalf("compute ran %d times, want 1 (b/0 is in the history)", computes.Load())
	}
}

// CallFailed makes the call return a typed *worker.Error with the node's code; the position
// stays free, so the next write of the key goes out with the same seq.
func TestCallFailed(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	caught := make(chan error, 1)
	must(t, w.RegisterWorkflow("big", 1, func(ctx *worker.Context, _ []byte) ([]byte, error) {
		_, err := ctx.Checkpoint("k", []byte(`"huge"`))
		caught <- err
		return ctx.Checkpoint("k", []byte(`"small"`))
	}))
	runWorker(t, w)
	c, _ := f.acceptRegistered(t, nil)
	c.execute(&pb.Execute{Run: 3, Type: "big", Input: []byte(`null`)})
	p := c.recvCheckpoint(t)
	c.callFailed(&pb.CallFailed{Run: 3, Key: "k", Seq: p.GetSeq(), Code: pb.ErrorCode_ERR_PAYLOAD_TOO_LARGE, Message: "value over the limit"})
	err := <-caught
	var e *worker.Error
	if !errors.As(err, &e) || e.Code != worker.CodePayloadTooLarge || !errors.Is(err, worker.ErrPayloadTooLarge) || e.Message != "value over the limit" {
		t.Fatalf("error %#v, want *worker.Error ERR_PAYLOAD_TOO_LARGE", err)
	}
	if !strings.Contains(err.Error(), "ERR_PAYLOAD_TOO_LARGE") {
		t.Fatalf("error text %q does not name its code", err)
	}
	p = c.recvCheckpoint(t)
	if p.GetKey() != "k" || p.GetSeq() != 0 || string(p.GetValue()) != `"small"` {
		t.Fatalf("retry %v, want k/0 again", p)
	}
	c.commit(3, "k", 0, `"small"`)
	if res := c.recvResult(t); string(res.GetResult()) != `"small"` {
		t.Fatalf("result %s", res.GetResult())
	}
}

type outOfStock struct{ item string }

func (e *outOfStock) Error() string { return "out of stock: " + e.item }

// A compute function's error goes to the node as ComputeResult.error; when the node answers
// CallFailed ERR_WORKFLOW_FAILED the workflow gets the function's own error back.
func TestComputeErrorReturnedAsIs(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	caught := make(chan error, 1)
	must(t, w.RegisterWorkflow("stock", 1, func(ctx *worker.Context, _ []byte) ([]byte, error) {
		_, err := worker.CheckpointCompute(ctx, "reserve", func(context.Context) (int, error) {
			return 0, &outOfStock{item: "apple"}
		})
		caught <- err
		return nil, err
	}))
	runWorker(t, w)
	c, _ := f.acceptRegistered(t, nil)
	c.execute(&pb.Execute{Run: 4, Type: "stock", Input: []byte(`null`)})
	c.recvCheckpoint(t)
	c.runCompute(4, "reserve", 0)
	cr := c.recv(t).GetComputeResult()
	if cr == nil || cr.GetError() == nil || cr.GetError().GetType() != "*worker_test.outOfStock" || cr.GetError().GetMessage() != "out of stock: apple" {
		t.Fatalf("ComputeResult %v, want error *worker_test.outOfStock", cr)
	}
	c.callFailed(&pb.CallFailed{Run: 4, Key: "reserve", Seq: 0, Code: pb.ErrorCode_ERR_WORKFLOW_FAILED, Message: "out of stock: apple", Failure: cr.GetError()})
	var oos *outOfStock
	if err := <-caught; !errors.As(err, &oos) || oos.item != "apple" {
		t.Fatalf("error %#v, want the compute function's *outOfStock", err)
	}
	res := c.recvResult(t)
	if res.GetError().GetType() != "*worker_test.outOfStock" || res.GetError().GetMessage() != "out of stock: apple" {
		t.Fatalf("result %v", res)
	}
}

// A workflow that returns an error or panics ends with WorkflowResult.error; an input that does
// not decode fails the workflow; a type the worker does not have fails the run.
func TestWorkflowErrors(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	must(t, worker.Register(w, "fails", 1, func(ctx *worker.Context, o order) (int, error) {
		return 0, errors.New("no such customer")
	}))
	must(t, worker.Register(w, "panics", 1, func(ctx *worker.Context, o order) (int, error) {
		var m map[string]int
		m["x"] = 1 // a nil-map write: a runtime panic
		return 0, nil
	}))
	must(t, worker.Register(w, "badutf8", 1, func(ctx *worker.Context, o order) (int, error) {
		return 0, errors.New("bad \xff byte") // protobuf strings must be UTF-8
	}))
	runWorker(t, w)
	c, _ := f.acceptRegistered(t, nil)
	for _, tc := range []struct {
		run           uint64
		typ, input    string
		version       int32
		wantType, msg string
	}{
		{1, "fails", `{}`, 1, "*errors.errorString", "no such customer"},
		{2, "panics", `{}`, 1, "panic", "assignment to entry in nil map"},
		{3, "fails", `{"id": 5}`, 1, "*json.UnmarshalTypeError", "cannot unmarshal number"},
		{4, "unknown", `{}`, 1, "*worker.Error", "not registered"},
		{5, "fails", `{}`, 2, "*worker.Error", "not registered"},
		{6, "badutf8", `{}`, 1, "*errors.errorString", "bad \uFFFD byte"},
	} {
		c.execute(&pb.Execute{Run: tc.run, Type: tc.typ, Version: tc.version, Input: []byte(tc.input)})
		res := c.recvResult(t)
		if res.GetRun() != tc.run || res.GetError().GetType() != tc.wantType || !strings.Contains(res.GetError().GetMessage(), tc.msg) {
			t.Errorf("run %d: result %v, want error %s containing %q", tc.run, res, tc.wantType, tc.msg)
		}
		c.ack(tc.run)
	}
}

// Cancel unwinds the function: its pending call returns a run-cancelled error naming the
// reason, its context.Context is cancelled, and nothing more is sent for the run.
func TestCancel(t *testing.T) {
	for _, tc := range []struct {
		reason     pb.Cancel_Reason
		sentinel   error
		terminated bool
	}{
		{pb.Cancel_TERMINATED, worker.ErrTerminated, true},
		{pb.Cancel_ENDED_ELSEWHERE, worker.ErrAborted, false},
		{pb.Cancel_OWNERSHIP_LOST, worker.ErrAborted, false},
		{pb.Cancel_NODE_STOPPING, worker.ErrAborted, false},
	} {
		t.Run(tc.reason.String(), func(t *testing.T) {
			f := startFake(t)
			w := newWorker(f)
			type outcome struct {
				err        error
				done       bool
				terminated bool
				after      error
			}
			out := make(chan outcome, 1)
			must(t, w.RegisterWorkflow("long", 1, func(ctx *worker.Context, _ []byte) ([]byte, error) {
				_, err := ctx.Checkpoint("step", []byte(`1`))
				o := outcome{err: err, done: ctx.Err() != nil, terminated: ctx.IsTerminated()}
				_, o.after = ctx.Checkpoint("after", []byte(`2`)) // must not be sent
				out <- o
				return []byte(`"must not be sent"`), nil
			}))
			must(t, w.RegisterWorkflow("probe", 1, func(ctx *worker.Context, in []byte) ([]byte, error) { return in, nil }))
			runWorker(t, w)
			c, _ := f.acceptRegistered(t, nil)
			c.execute(&pb.Execute{Run: 1, Type: "long", Input: []byte(`null`)})
			c.recvCheckpoint(t)
			c.cancel(1, tc.reason, "by the test")
			o := <-out
			var e *worker.Error
			if !errors.Is(o.err, worker.ErrRunCancelled) || !errors.Is(o.err, tc.sentinel) || !errors.As(o.err, &e) || e.Detail != tc.reason.String() || !strings.Contains(o.err.Error(), "by the test") {
				t.Fatalf("call error %v, want a run-cancelled error matching %v naming %s", o.err, tc.sentinel, tc.reason)
			}
			if !o.done || o.terminated != tc.terminated || !errors.Is(o.after, worker.ErrRunCancelled) {
				t.Fatalf("outcome %+v", o)
			}
			// An answer for the cancelled run is ignored; the worker goes on with other runs.
			c.commit(1, "step", 0, `1`)
			c.execute(&pb.Execute{Run: 2, Type: "probe", Input: []byte(`"probe"`)})
			if res := c.expectOnly(t, 2).GetWorkflowResult(); string(res.GetResult()) != `"probe"` {
				t.Fatalf("probe result %v", res)
			}
		})
	}
}

// A function waiting outside checkpoint calls unwinds through its Context's Done.
func TestCancelWhileWaitingOnDone(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	returned := make(chan error, 1)
	must(t, w.RegisterWorkflow("sleeper", 1, func(ctx *worker.Context, _ []byte) ([]byte, error) {
		<-ctx.Done()
		returned <- context.Cause(ctx)
		return nil, ctx.Err()
	}))
	must(t, w.RegisterWorkflow("probe", 1, func(ctx *worker.Context, in []byte) ([]byte, error) { return in, nil }))
	runWorker(t, w)
	c, _ := f.acceptRegistered(t, nil)
	c.execute(&pb.Execute{Run: 1, Type: "sleeper", Input: []byte(`null`)})
	c.cancel(1, pb.Cancel_TERMINATED, "stop")
	if err := <-returned; !errors.Is(err, worker.ErrTerminated) {
		t.Fatalf("cause %v, want ErrTerminated", err)
	}
	c.execute(&pb.Execute{Run: 2, Type: "probe", Input: []byte(`1`)})
	c.expectOnly(t, 2)
}

// Heartbeats go out while the worker has nothing else to send, and the node's acks keep the
// stream up.
func TestHeartbeatsWhenIdle(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	must(t, w.RegisterWorkflow("x", 1, func(ctx *worker.Context, in []byte) ([]byte, error) { return in, nil }))
	runWorker(t, w)
	reg := defaultRegistered()
	reg.HeartbeatIntervalMs = 20
	reg.HeartbeatTimeoutMs = 10000
	c, _ := f.acceptRegistered(t, reg)
	deadline := time.After(wait)
	for c.heartbeats.Load() < 5 {
		select {
		case <-deadline:
			t.Fatalf("%d heartbeats, want 5", c.heartbeats.Load())
		case <-c.done:
			t.Fatal("the worker ended an acked stream")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// A node silent past heartbeat_timeout_ms is treated as gone: the worker drops its runs and
// reconnects, and sends nothing for the dropped runs on the new stream.
func TestSilentNodeIsLeft(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	dropped := make(chan error, 1)
	must(t, w.RegisterWorkflow("wait", 1, func(ctx *worker.Context, _ []byte) ([]byte, error) {
		_, err := ctx.Checkpoint("k", []byte(`1`))
		dropped <- err
		_, _ = ctx.Checkpoint("k2", []byte(`1`))
		return []byte(`"stale"`), nil
	}))
	must(t, w.RegisterWorkflow("probe", 1, func(ctx *worker.Context, in []byte) ([]byte, error) { return in, nil }))
	runWorker(t, w)
	reg := defaultRegistered()
	reg.HeartbeatIntervalMs = 20
	reg.HeartbeatTimeoutMs = 500
	c, _ := f.acceptRegistered(t, reg)
	c.execute(&pb.Execute{Run: 1, Type: "wait", Input: []byte(`null`)})
	c.recvCheckpoint(t)
	// From now on no answer and no acks (before, a slow machine could make the worker leave
	// before it got the run): the worker must leave.
	c.ackBeats.Store(false)
	select {
	case <-c.done:
	case <-time.After(wait):
		t.Fatal("the worker kept a stream to a silent node")
	}
	if err := <-dropped; !errors.Is(err, worker.ErrRunCancelled) || !errors.Is(err, worker.ErrAborted) {
		t.Fatalf("the dropped run's call returned %v, want a run-cancelled ErrAborted", err)
	}
	c2, _ := f.acceptRegistered(t, nil)
	c2.execute(&pb.Execute{Run: 2, Type: "probe", Input: []byte(`2`)})
	c2.expectOnly(t, 2)
}

// When the stream ends, the worker reconnects (Register again); the runs of the lost stream are
// dropped; the node executes the workflow again with its history on the new stream.
func TestReconnectAfterStreamEnds(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	var computes atomic.Int32
	must(t, worker.Register(w, "order", 1, func(ctx *worker.Context, o order) (receipt, error) {
		charge, err := worker.CheckpointCompute(ctx, "charge", func(context.Context) (string, error) {
			computes.Add(1)
			return "ch", nil
		})
		if err != nil {
			return receipt{}, err
		}
		n, err := worker.Checkpoint(ctx, "count", o.Items)
		return receipt{ID: o.ID, Charge: charge, Count: n}, err
	}))
	runWorker(t, w)
	c, _ := f.acceptRegistered(t, nil)
	c.execute(&pb.Execute{Run: 1, Type: "order", Input: []byte(`{"id":"o","items":3}`)})
	c.recvCheckpoint(t)
	c.runCompute(1, "charge", 0)
	c.recv(t) // ComputeResult
	c.commit(1, "charge", 0, `"ch"`)
	c.recvCheckpoint(t) // count/0, never answered: the node goes away
	c.end <- status.Error(codes.Unavailable, "node stopping")
	c2, reg := f.acceptRegistered(t, nil)
	if len(reg.GetTypes()) != 1 {
		t.Fatalf("re-registration %v", reg)
	}
	c2.execute(&pb.Execute{Run: 7, Type: "order", Input: []byte(`{"id":"o","items":3}`), History: []*pb.CheckpointValue{{Key: "charge", Seq: 0, Value: []byte(`"ch"`)}}})
	p := c2.recvCheckpoint(t)
	if p.GetRun() != 7 || p.GetKey() != "count" || p.GetSeq() != 0 {
		t.Fatalf("proposal %v, want run 7 count/0 (and nothing of run 1)", p)
	}
	c2.commit(7, "count", 0, `3`)
	if res := c2.expectOnly(t, 7).GetWorkflowResult(); string(res.GetResult()) != `{"id":"o","charge":"ch","count":3}` {
		t.Fatalf("result %v", res)
	}
	if computes.Load() != 1 {
		t.Fatalf("compute ran %d times, want 1", computes.Load())
	}
}

// A node that is not there yet: Run keeps retrying, and registers once it is.
func TestConnectsWhenTheNodeComesUp(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	must(t, w.RegisterWorkflow("x", 1, func(ctx *worker.Context, in []byte) ([]byte, error) { return in, nil }))
	runWorker(t, w)
	// Refuse the first streams, as a node still starting does.
	for i := 0; i < 3; i++ {
		c := f.accept(t)
		c.end <- status.Error(codes.Unavailable, "starting")
	}
	c, _ := f.acceptRegistered(t, nil)
	c.execute(&pb.Execute{Run: 1, Type: "x", Input: []byte(`"ok"`)})
	if res := c.recvResult(t); string(res.GetResult()) != `"ok"` {
		t.Fatalf("result %v", res)
	}
}

// A registration the node refuses (INVALID_ARGUMENT, FAILED_PRECONDITION) ends Run with an
// error instead of retrying forever.
func TestRefusedRegistrationEndsRun(t *testing.T) {
	for _, code := range []codes.Code{codes.InvalidArgument, codes.FailedPrecondition} {
		t.Run(code.String(), func(t *testing.T) {
			f := startFake(t)
			w := newWorker(f)
			must(t, w.RegisterWorkflow("x", 1, func(ctx *worker.Context, in []byte) ([]byte, error) { return in, nil }))
			done := make(chan error, 1)
			go func() { done <- w.Run(context.Background()) }()
			c := f.accept(t)
			c.recv(t)
			c.end <- status.Error(code, "type x runs embedded on this node")
			select {
			case err := <-done:
				if !errors.Is(err, worker.ErrInvalidArgument) || !strings.Contains(err.Error(), "type x runs embedded") {
					t.Fatalf("Run = %v", err)
				}
			case <-time.After(wait):
				t.Fatal("Run retried a refused registration")
			}
		})
	}
}

// The worker runs at most MaxConcurrentRuns functions at once, even when the node sends more.
func TestMaxConcurrentRuns(t *testing.T) {
	f := startFake(t)
	w := newWorker(f, func(o *worker.Options) { o.MaxConcurrentRuns = 2 })
	var active, peak atomic.Int32
	must(t, w.RegisterWorkflow("slot", 1, func(ctx *worker.Context, _ []byte) ([]byte, error) {
		n := active.Add(1)
		defer active.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		return ctx.Checkpoint("k", []byte(`1`))
	}))
	runWorker(t, w)
	c, reg := f.acceptRegistered(t, nil)
	if reg.GetMaxConcurrentRuns() != 2 {
		t.Fatalf("Register.max_concurrent_runs = %d", reg.GetMaxConcurrentRuns())
	}
	for run := uint64(1); run <= 3; run++ {
		c.execute(&pb.Execute{Run: run, Type: "slot", Input: []byte(`null`)})
	}
	first := c.recvCheckpoint(t)
	second := c.recvCheckpoint(t)
	// Give a third function the chance to start if the limit did not hold it back.
	time.Sleep(200 * time.Millisecond)
	c.commit(first.GetRun(), "k", 0, `1`)
	c.commit(second.GetRun(), "k", 0, `1`)
	results := map[uint64]bool{}
	for len(results) < 3 {
		m := c.recv(t)
		if p := m.GetCheckpoint(); p != nil {
			c.commit(p.GetRun(), "k", 0, `1`)
			continue
		}
		results[m.GetWorkflowResult().GetRun()] = true
	}
	if peak.Load() != 2 {
		t.Fatalf("%d functions ran at once, want 2", peak.Load())
	}
}

// Var: NewVar, Set and Update write the key at seq 0, 1, 2, and Get is the committed value.
func TestVar(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	must(t, worker.Register(w, "var", 1, func(ctx *worker.Context, _ struct{}) ([]int, error) {
		v, err := worker.NewVar(ctx, "n", 1)
		if err != nil {
			return nil, err
		}
		a := v.Get()
		if _, err := v.Set(5); err != nil {
			return nil, err
		}
		b := v.Get()
		if _, err := v.Update(func(n int) int { return n * 10 }); err != nil {
			return nil, err
		}
		return []int{a, b, v.Get()}, nil
	}))
	runWorker(t, w)
	c, _ := f.acceptRegistered(t, nil)
	c.execute(&pb.Execute{Run: 1, Type: "var", Input: []byte(`{}`)})
	for i, want := range []struct{ value, reply string }{{"1", "2"}, {"5", "6"}, {"60", "61"}} {
		p := c.recvCheckpoint(t)
		if p.GetKey() != "n" || p.GetSeq() != uint64(i) || string(p.GetValue()) != want.value {
			t.Fatalf("proposal %d = %v, want n/%d = %s", i, p, i, want.value)
		}
		c.commit(1, "n", uint64(i), want.reply)
	}
	if res := c.recvResult(t); string(res.GetResult()) != `[2,6,61]` {
		t.Fatalf("result %s", res.GetResult())
	}
}

// Bad input in the workflow code fails the call locally with ErrInvalidArgument (nothing is
// sent for it), and the run goes on.
func TestBadCallsFailLocally(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	errs := make(chan []error, 1)
	must(t, w.RegisterWorkflow("bad", 1, func(ctx *worker.Context, _ []byte) ([]byte, error) {
		var out []error
		_, err := ctx.Checkpoint("", []byte(`1`))
		out = append(out, err)
		_, err = ctx.Checkpoint(strings.Repeat("k", 1025), []byte(`1`))
		out = append(out, err)
		_, err = ctx.Checkpoint("bad\xffutf8", []byte(`1`))
		out = append(out, err)
		_, err = worker.Checkpoint(ctx, "ch", make(chan int))
		out = append(out, err)
		_, err = ctx.CheckpointCompute("nil", nil)
		out = append(out, err)
		_, err = ctx.Checkpoint("large", make([]byte, 5000)) // over Registered.max_value_bytes
		out = append(out, err)
		// A compute function that uses the workflow Context.
		var inner error
		_, err = ctx.CheckpointCompute("outer", func(context.Context) ([]byte, error) {
			_, inner = ctx.Checkpoint("inner", []byte(`1`))
			return []byte(`"v"`), nil
		})
		out = append(out, inner, err)
		errs <- out
		return []byte(`"ok"`), nil
	}))
	runWorker(t, w)
	c, _ := f.acceptRegistered(t, nil)
	c.execute(&pb.Execute{Run: 1, Type: "bad", Input: []byte(`null`)})
	p := c.recvCheckpoint(t)
	if p.GetKey() != "outer" || p.GetSeq() != 0 {
		t.Fatalf("first message %v, want the compute proposal outer/0 (the bad calls send nothing)", p)
	}
	c.runCompute(1, "outer", 0)
	if cr := c.recv(t).GetComputeResult(); string(cr.GetValue()) != `"v"` {
		t.Fatalf("compute result %v", cr)
	}
	c.commit(1, "outer", 0, `"v"`)
	c.recvResult(t)
	got := <-errs
	for i, err := range got[:5] {
		if !errors.Is(err, worker.ErrInvalidArgument) {
			t.Errorf("bad call %d: %v, want ErrInvalidArgument", i, err)
		}
	}
	if !errors.Is(got[5], worker.ErrPayloadTooLarge) {
		t.Errorf("oversized value: %v, want ErrPayloadTooLarge", got[5])
	}
	if !errors.Is(got[6], worker.ErrInvalidArgument) || !strings.Contains(got[6].Error(), "compute function") {
		t.Errorf("call from a compute function: %v, want ErrInvalidArgument", got[6])
	}
	if got[7] != nil {
		t.Errorf("the compute step itself: %v", got[7])
	}
}

// The Context's calls after its function returned fail with ErrInvalidHandle.
func TestContextAfterReturn(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	kept := make(chan *worker.Context, 1)
	must(t, w.RegisterWorkflow("keep", 1, func(ctx *worker.Context, _ []byte) ([]byte, error) {
		kept <- ctx
		return []byte(`1`), nil
	}))
	runWorker(t, w)
	c, _ := f.acceptRegistered(t, nil)
	c.execute(&pb.Execute{Run: 1, Type: "keep", Input: []byte(`null`)})
	c.recvResult(t)
	ctx := <-kept
	if _, err := ctx.Checkpoint("k", []byte(`1`)); !errors.Is(err, worker.ErrInvalidHandle) {
		t.Fatalf("call after return: %v", err)
	}
	if ctx.Err() == nil {
		t.Fatal("the context of a returned function is not done")
	}
}

// Goroutines of one workflow share its Context: calls are serialized, each key counted once.
func TestConcurrentCallsOfOneRun(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	must(t, w.RegisterWorkflow("fan", 1, func(ctx *worker.Context, _ []byte) ([]byte, error) {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 2; i++ {
					if _, err := ctx.Checkpoint("shared", []byte(`1`)); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			return nil, err
		}
		return []byte(`"ok"`), nil
	}))
	runWorker(t, w)
	c, _ := f.acceptRegistered(t, nil)
	c.execute(&pb.Execute{Run: 1, Type: "fan", Input: []byte(`null`)})
	for seq := uint64(0); seq < 8; seq++ {
		p := c.recvCheckpoint(t)
		if p.GetSeq() != seq {
			t.Fatalf("proposal %v, want seq %d", p, seq)
		}
		c.commit(1, "shared", seq, `1`)
	}
	if res := c.recvResult(t); string(res.GetResult()) != `"ok"` {
		t.Fatalf("result %v", res)
	}
}

// Run returns once its context is cancelled, after the running functions returned (their
// Context is cancelled: the worker is stopping), and sends nothing for them.
func TestRunStopsOnCancel(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	got := make(chan error, 1)
	must(t, w.RegisterWorkflow("wait", 1, func(ctx *worker.Context, _ []byte) ([]byte, error) {
		_, err := ctx.Checkpoint("k", []byte(`1`))
		got <- err
		return nil, err
	}))
	stop := runWorker(t, w)
	c, _ := f.acceptRegistered(t, nil)
	c.execute(&pb.Execute{Run: 1, Type: "wait", Input: []byte(`null`)})
	c.recvCheckpoint(t)
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil after its context was cancelled", err)
	}
	select {
	case err := <-got:
		if !errors.Is(err, worker.ErrRunCancelled) || !strings.Contains(err.Error(), "stopping") {
			t.Fatalf("call = %v", err)
		}
	default:
		t.Fatal("Run returned before the workflow function did")
	}
	<-c.done
	select {
	case m := <-c.in:
		t.Fatalf("sent %v for a run of a stopping worker", m)
	default:
	}
}

// Bad input to the library's own API.
func TestBadRegistrationsAndOptions(t *testing.T) {
	w := worker.New(worker.Options{Target: "127.0.0.1:1", Logger: testLogger()})
	fn := func(ctx *worker.Context, in []byte) ([]byte, error) { return in, nil }
	must(t, w.RegisterWorkflow("order", 1, fn))
	for name, err := range map[string]error{
		"twice":         w.RegisterWorkflow("order", 1, fn),
		"typed twice":   worker.Register(w, "order", 1, func(*worker.Context, int) (int, error) { return 0, nil }),
		"nil":           w.RegisterWorkflow("n", 1, nil),
		"nil typed":     worker.Register[int, int](w, "n", 1, nil),
		"blank":         w.RegisterWorkflow(" ", 1, fn),
		"version 0":     w.RegisterWorkflow("v", 0, fn),
		"mode":          w.RegisterWorkflow("m", 1, fn, worker.WithMode(9)),
		"keep negative": w.RegisterWorkflow("k", 1, fn, worker.KeepLastPerKey(-1)),
	} {
		want := worker.ErrInvalidArgument
		if strings.Contains(name, "twice") {
			want = worker.ErrAlreadyRegistered
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	must(t, w.RegisterWorkflow("order", 2, fn)) // another version is another type
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for name, w := range map[string]*worker.Worker{
		"empty target":   worker.New(worker.Options{}),
		"no workflows":   worker.New(worker.Options{Target: "127.0.0.1:1"}),
		"too many runs":  worker.New(worker.Options{Target: "127.0.0.1:1", MaxConcurrentRuns: 70000}),
		"long worker id": worker.New(worker.Options{Target: "127.0.0.1:1", WorkerID: strings.Repeat("w", 257)}),
	} {
		if name != "no workflows" {
			must(t, w.RegisterWorkflow("x", 1, fn))
		}
		if err := w.Run(ctx); !errors.Is(err, worker.ErrInvalidArgument) {
			t.Errorf("%s: Run = %v, want ErrInvalidArgument", name, err)
		}
	}
}

// Registering after Run started, and a second Run, are refused.
func TestRegisterWhileRunning(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	fn := func(ctx *worker.Context, in []byte) ([]byte, error) { return in, nil }
	must(t, w.RegisterWorkflow("x", 1, fn))
	runWorker(t, w)
	f.acceptRegistered(t, nil)
	if err := w.RegisterWorkflow("y", 1, fn); !errors.Is(err, worker.ErrInvalidArgument) {
		t.Fatalf("register while running: %v", err)
	}
	if err := w.Run(context.Background()); !errors.Is(err, worker.ErrInvalidArgument) {
		t.Fatalf("second Run: %v", err)
	}
}

func TestCodeNames(t *testing.T) {
	for code, name := range pb.ErrorCode_name {
		if code == 0 {
			continue
		}
		if got := worker.Code(code).String(); got != name {
			t.Errorf("Code(%d) = %s, want %s", code, got, name)
		}
		e := &worker.Error{Code: worker.Code(code)}
		matched := 0
		for _, s := range []error{worker.ErrInvalidArgument, worker.ErrInvalidHandle, worker.ErrNotInitialized, worker.ErrShutDown,
			worker.ErrBufferTooSmall, worker.ErrNotFound, worker.ErrAlreadyExists, worker.ErrNotRegistered, worker.ErrAlreadyRegistered,
			worker.ErrTimeout, worker.ErrWorkflowFailed, worker.ErrTerminated, worker.ErrPayloadTooLarge, worker.ErrUnavailable,
			worker.ErrNodeClosed, worker.ErrAborted, worker.ErrCallbackFailed, worker.ErrJVM, worker.ErrInternal, worker.ErrForked,
			worker.ErrNodeRemoved, worker.ErrCodec, worker.ErrUnauthenticated, worker.ErrPermissionDenied} {
			if errors.Is(e, s) {
				matched++
			}
		}
		if matched != 1 {
			t.Errorf("%s matches %d sentinels, want 1", name, matched)
		}
	}
}

// A Registered naming a protocol version the worker does not speak ends Run with an error.
func TestProtocolVersionMismatch(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	must(t, w.RegisterWorkflow("x", 1, func(ctx *worker.Context, in []byte) ([]byte, error) { return in, nil }))
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	reg := defaultRegistered()
	reg.ProtocolVersion = 2
	f.acceptRegistered(t, reg)
	select {
	case err := <-done:
		if !errors.Is(err, worker.ErrInvalidArgument) || !strings.Contains(err.Error(), "protocol version 2") {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Run went on with an unknown protocol version")
	}
}

// Answers the run is not waiting for (another seq, another key, an unknown run, RunCompute for a
// plain checkpoint) and protocol errors are logged and ignored; the run goes on.
func TestStrayAnswersAreIgnored(t *testing.T) {
	f := startFake(t)
	w := newWorker(f)
	must(t, w.RegisterWorkflow("x", 1, func(ctx *worker.Context, _ []byte) ([]byte, error) {
		return ctx.Checkpoint("k", []byte(`1`))
	}))
	runWorker(t, w)
	c, _ := f.acceptRegistered(t, nil)
	c.execute(&pb.Execute{Run: 1, Type: "x", Input: []byte(`null`)})
	c.recvCheckpoint(t)
	c.commit(1, "k", 5, `"wrong seq"`)
	c.commit(1, "other", 0, `"wrong key"`)
	c.commit(99, "k", 0, `"unknown run"`)
	c.runCompute(1, "k", 0)
	c.send(&pb.NodeMessage{Kind: &pb.NodeMessage_ProtocolError{ProtocolError: &pb.ProtocolError{Run: 42, Message: "unknown run"}}})
	c.send(&pb.NodeMessage{Kind: &pb.NodeMessage_Registered{Registered: defaultRegistered()}})
	c.commit(1, "k", 0, `"right"`)
	if res := c.recvResult(t); string(res.GetResult()) != `"right"` {
		t.Fatalf("result %v", res)
	}
}
