package raftoral

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The workflows registered on testNode.

var seqComputeCalls atomic.Int64

// errDeclined is a user error returned by a compute function.
var errDeclined = errors.New("card declined")

// declinedError is a user error type, to check the error type a failed workflow records.
type declinedError struct{ Amount int }

func (e *declinedError) Error() string { return fmt.Sprintf("payment of %d declined", e.Amount) }

// staleContexts receives the Context of each "stale" run, to be used after the run.
var staleContexts = make(chan *Context, 1)

// terminatedRuns receives what a "waits" run saw once terminated: its checkpoint's error.
var terminatedRuns = make(chan error, 4)

// insideResults is what the "inside" workflow observed, field by field.
type insideResults struct {
	DeclinedIs      bool   `json:"declined_is"` // CheckpointCompute returned errDeclined itself
	DeclinedAs      int    `json:"declined_as"` // errors.As found *declinedError with this amount
	Retried         string `json:"retried"`     // the retry at the same key committed
	PanicIs         bool   `json:"panic_is"`    // a panic became a *PanicError
	PanicValue      string `json:"panic_value"` // with the panic's value
	ComputeTooLarge bool   `json:"compute_too_large"`
	SetTooLarge     bool   `json:"set_too_large"`
	EmptyKey        bool   `json:"empty_key"`
	EmptyKeyCompute bool   `json:"empty_key_compute"`
	NilFn           bool   `json:"nil_fn"`
	NulKey          bool   `json:"nul_key"`
	Repeated        []int  `json:"repeated"` // three Checkpoint[int] on one key
	Owner           bool   `json:"owner"`
	Terminated      bool   `json:"terminated"`
	ID              string `json:"id"`
	Empty           bool   `json:"empty"` // an empty value round-trips as empty
}

func registerTestWorkflows(n *Node) error {
	regs := []struct {
		typ string
		fn  WorkflowFunc
	}{
		{"echo", func(ctx *Context, in []byte) ([]byte, error) { return in, nil }},
		{"panics", func(ctx *Context, in []byte) ([]byte, error) { panic(string(in)) }},
		{"nilderef", func(ctx *Context, in []byte) ([]byte, error) {
			var p *insideResults
			return []byte(p.ID), nil // a real SIGSEGV on an engine thread, turned into a panic
		}},
		{"declines", func(ctx *Context, in []byte) ([]byte, error) { return nil, &declinedError{Amount: 42} }},
		{"big-result", func(ctx *Context, in []byte) ([]byte, error) { return make([]byte, 2*payloadLimit), nil }},
		{"stale", func(ctx *Context, in []byte) ([]byte, error) {
			staleContexts <- ctx
			return nil, nil
		}},
		{"waits", func(ctx *Context, in []byte) ([]byte, error) {
			for {
				if _, err := ctx.Checkpoint("tick", []byte("t")); err != nil {
					terminatedRuns <- err
					return nil, err
				}
				if ctx.IsTerminated() {
					_, err := ctx.Checkpoint("after", []byte("x"))
					terminatedRuns <- err
					return nil, err
				}
			}
		}},
		{"inside", insideWorkflow},
		{"history-keys", historyKeysWorkflow},
		{"history-many", historyManyWorkflow},
		{"ctx-calls", ctxCallsWorkflow},
	}
	for _, r := range regs {
		if err := n.RegisterWorkflow(r.typ, 1, r.fn); err != nil {
			return err
		}
	}
	// seq: input n; three compute steps adding 1, 2, 3; result n + 6.
	return RegisterTyped(n, "seq", 1, func(ctx *Context, n int) (int, error) {
		value := n
		for i := 1; i <= 3; i++ {
			next := value + i
			var err error
			value, err = CheckpointCompute(ctx, "step", func() (int, error) {
				seqComputeCalls.Add(1)
				return next, nil
			})
			if err != nil {
				return 0, err
			}
		}
		return value, nil
	}, WithMode(OwnerOnly))
}

func insideWorkflow(ctx *Context, _ []byte) ([]byte, error) {
	var r insideResults
	_, err := ctx.CheckpointCompute("pay", func() ([]byte, error) { return nil, fmt.Errorf("charging: %w", errDeclined) })
	r.DeclinedIs = errors.Is(err, errDeclined)
	_, err = ctx.CheckpointCompute("pay", func() ([]byte, error) { return nil, &declinedError{Amount: 7} })
	var declined *declinedError
	if errors.As(err, &declined) {
		r.DeclinedAs = declined.Amount
	}
	_, err = ctx.CheckpointCompute("pay", func() ([]byte, error) { panic("card reader on fire") })
	var p *PanicError
	if errors.As(err, &p) {
		r.PanicIs, r.PanicValue = true, fmt.Sprint(p.Value)
	}
	_, err = ctx.CheckpointCompute("pay", func() ([]byte, error) { return make([]byte, 2*payloadLimit), nil })
	r.ComputeTooLarge = errors.Is(err, ErrPayloadTooLarge)
	paid, err := ctx.CheckpointCompute("pay", func() ([]byte, error) { return []byte("paid"), nil })
	if err != nil {
		return nil, err
	}
	r.Retried = string(paid)
	_, err = ctx.Checkpoint("big", make([]byte, 2*payloadLimit))
	r.SetTooLarge = errors.Is(err, ErrPayloadTooLarge)
	_, err = ctx.Checkpoint("", []byte("x"))
	r.EmptyKey = errors.Is(err, ErrInvalidArgument)
	_, err = ctx.CheckpointCompute("", func() ([]byte, error) { return []byte("x"), nil })
	r.EmptyKeyCompute = errors.Is(err, ErrInvalidArgument)
	_, err = ctx.CheckpointCompute("k", nil)
	r.NilFn = errors.Is(err, ErrInvalidArgument)
	_, err = ctx.Checkpoint("a\x00b", []byte("x"))
	r.NulKey = errors.Is(err, ErrInvalidArgument)
	for i := 1; i <= 3; i++ {
		v, err := Checkpoint(ctx, "counter", i*10)
		if err != nil {
			return nil, err
		}
		r.Repeated = append(r.Repeated, v)
	}
	empty, err := ctx.Checkpoint("empty", nil)
	if err != nil {
		return nil, err
	}
	r.Empty = len(empty) == 0
	r.Owner, r.Terminated, r.ID = ctx.IsOwner(), ctx.IsTerminated(), ctx.WorkflowID()
	return json.Marshal(r)
}

func TestEcho(t *testing.T) {
	ctx := waitCtx(t)
	for _, in := range [][]byte{[]byte("hello"), {}, {0, 1, 2, 255}} {
		h, err := testNode.Start(ctx, "echo", 1, in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := h.Result(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("echo of %q returned %q", in, out)
		}
	}
}

func TestComputeRunsOncePerStep(t *testing.T) {
	ctx := waitCtx(t)
	before := seqComputeCalls.Load()
	h, err := StartTyped(ctx, testNode, "seq", 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ResultAs[int](ctx, h)
	if err != nil || got != 16 {
		t.Fatalf("seq(10) = %d, %v; want 16", got, err)
	}
	if calls := seqComputeCalls.Load() - before; calls != 3 {
		t.Fatalf("compute functions ran %d times, want 3", calls)
	}
	info, err := h.Describe()
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != StatusCompleted || info.CheckpointCount != 3 || info.Type != "seq" || info.Version != 1 ||
		info.WorkflowID != h.ID() || info.OwnerNode != 1 || info.EndedAt == nil || info.EndedAt.Before(info.StartedAt) {
		t.Fatalf("unexpected info %+v", info)
	}
	// The result is kept: asking again, through a new handle, gives it again.
	got, err = ResultAs[int](ctx, testNode.Handle(h.ID()))
	if err != nil || got != 16 {
		t.Fatalf("second Result = %d, %v", got, err)
	}
}

func TestStartWithIDIsIdempotent(t *testing.T) {
	ctx := waitCtx(t)
	id := "order-" + t.Name()
	a, err := testNode.Start(ctx, "echo", 1, []byte("x"), WithWorkflowID(id))
	if err != nil {
		t.Fatal(err)
	}
	b, err := testNode.Start(ctx, "echo", 1, []byte("x"), WithWorkflowID(id))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID() != id || b.ID() != id {
		t.Fatalf("ids %q, %q; want %q", a.ID(), b.ID(), id)
	}
	_, err = testNode.Start(ctx, "echo", 1, []byte("y"), WithWorkflowID(id))
	if !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("same id, other input: %v; want ErrAlreadyExists", err)
	}
}

// failed runs a workflow that must fail and returns its *Error.
func failed(t *testing.T, typ string, input []byte) (*Error, *WorkflowInfo) {
	t.Helper()
	ctx := waitCtx(t)
	h, err := testNode.Start(ctx, typ, 1, input)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Result(ctx)
	var e *Error
	if !errors.Is(err, ErrWorkflowFailed) || !errors.As(err, &e) {
		t.Fatalf("%s: Result error %v; want ErrWorkflowFailed", typ, err)
	}
	info, err := h.Describe()
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != StatusFailed || info.ErrorType != e.Detail || info.ErrorMessage != e.Message {
		t.Fatalf("%s: info %+v does not match error %+v", typ, info, e)
	}
	return e, info
}

func TestPanicFailsTheWorkflow(t *testing.T) {
	e, _ := failed(t, "panics", []byte("out of stock"))
	if e.Detail != "panic" || e.Message != "out of stock" {
		t.Fatalf("got %+v; want type panic, message %q", e, "out of stock")
	}
}

func TestNilDereferenceInWorkflowFailsIt(t *testing.T) {
	e, _ := failed(t, "nilderef", nil)
	if e.Detail != "panic" || !strings.Contains(e.Message, "nil pointer dereference") {
		t.Fatalf("got %+v; want a nil pointer dereference panic", e)
	}
}

func TestErrorFailsTheWorkflow(t *testing.T) {
	e, _ := failed(t, "declines", nil)
	if e.Detail != "*raftoral.declinedError" || e.Message != "payment of 42 declined" {
		t.Fatalf("got %+v", e)
	}
}

func TestOversizedResultFailsTheWorkflow(t *testing.T) {
	e, _ := failed(t, "big-result", nil)
	if !strings.Contains(e.Message, fmt.Sprint(payloadLimit)) {
		t.Fatalf("got %+v; want the payload limit in the message", e)
	}
}

func TestInsideAWorkflow(t *testing.T) {
	ctx := waitCtx(t)
	h, err := testNode.Start(ctx, "inside", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var r insideResults
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	want := insideResults{
		DeclinedIs: true, DeclinedAs: 7, Retried: "paid", PanicIs: true, PanicValue: "card reader on fire",
		ComputeTooLarge: true, SetTooLarge: true, EmptyKey: true, EmptyKeyCompute: true, NilFn: true, NulKey: true,
		Repeated: []int{10, 20, 30}, Owner: true, Terminated: false, ID: h.ID(), Empty: true,
	}
	if fmt.Sprintf("%+v", r) != fmt.Sprintf("%+v", want) {
		t.Fatalf("inside the workflow:\n got %+v\nwant %+v", r, want)
	}
	// Only the successful compute and the four good checkpoints were committed.
	info, err := h.Describe()
	if err != nil {
		t.Fatal(err)
	}
	if info.CheckpointCount != 5 {
		t.Fatalf("checkpointCount %d, want 5", info.CheckpointCount)
	}
}

func TestContextIsInvalidAfterItsRun(t *testing.T) {
	ctx := waitCtx(t)
	h, err := testNode.Start(ctx, "stale", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Result(ctx); err != nil {
		t.Fatal(err)
	}
	stale := <-staleContexts
	if _, err := stale.Checkpoint("k", []byte("v")); !errors.Is(err, ErrInvalidHandle) {
		t.Fatalf("Checkpoint on a stale context: %v; want ErrInvalidHandle", err)
	}
	if _, err := stale.CheckpointCompute("k", func() ([]byte, error) { return nil, nil }); !errors.Is(err, ErrInvalidHandle) {
		t.Fatalf("CheckpointCompute on a stale context: %v; want ErrInvalidHandle", err)
	}
	if stale.IsOwner() || stale.IsTerminated() {
		t.Fatal("a stale context reports owner or terminated")
	}
	if stale.WorkflowID() != h.ID() {
		t.Fatalf("WorkflowID %q, want %q", stale.WorkflowID(), h.ID())
	}
}

func TestTerminate(t *testing.T) {
	ctx := waitCtx(t)
	h, err := testNode.Start(ctx, "waits", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A deadline before the end: ErrTimeout and context.DeadlineExceeded.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = h.Result(short)
	cancel()
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Result past its deadline: %v; want ErrTimeout and DeadlineExceeded", err)
	}
	// A cancelled context: context.Canceled.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.Result(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Result with a cancelled context: %v", err)
	}
	info, err := h.Terminate("operator says stop")
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != StatusTerminated {
		t.Fatalf("status after Terminate: %s", info.Status)
	}
	_, err = h.Result(ctx)
	var e *Error
	if !errors.Is(err, ErrTerminated) || !errors.As(err, &e) || !strings.Contains(e.Message, "operator says stop") {
		t.Fatalf("Result of a terminated workflow: %v", err)
	}
	select {
	case err := <-terminatedRuns:
		if !errors.Is(err, ErrTerminated) {
			t.Fatalf("the run's checkpoint after termination: %v; want ErrTerminated", err)
		}
	case <-ctx.Done():
		t.Fatal("the run did not see its termination")
	}
	// Terminating a finished workflow changes nothing.
	info, err = h.Terminate("again")
	if err != nil || info.Status != StatusTerminated {
		t.Fatalf("second Terminate: %+v, %v", info, err)
	}
}

func TestList(t *testing.T) {
	ctx := waitCtx(t)
	h, err := testNode.Start(ctx, "echo", 1, []byte("listed"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Result(ctx); err != nil {
		t.Fatal(err)
	}
	f, err := testNode.Start(ctx, "panics", 1, []byte("listed failure"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Result(ctx); !errors.Is(err, ErrWorkflowFailed) {
		t.Fatal(err)
	}
	ids := func(p *Page) map[string]Status {
		m := map[string]Status{}
		for _, w := range p.Workflows {
			m[w.WorkflowID] = w.Status
		}
		return m
	}
	page, err := testNode.List(ListQuery{Statuses: []Status{StatusFailed}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(page); got[f.ID()] != StatusFailed || got[h.ID()] != "" {
		t.Fatalf("FAILED list: %v", got)
	}
	page, err = testNode.List(ListQuery{Type: "echo", Version: 1, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range page.Workflows {
		if w.Type != "echo" {
			t.Fatalf("type filter let %+v through", w)
		}
	}
	if ids(page)[h.ID()] != StatusCompleted {
		t.Fatalf("echo list misses %s", h.ID())
	}
	// Paging: pages of one, following NextPageToken, give each workflow once.
	seen := map[string]bool{}
	q := ListQuery{Type: "echo", Limit: 1}
	for {
		page, err := testNode.List(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range page.Workflows {
			if seen[w.WorkflowID] {
				t.Fatalf("%s listed twice", w.WorkflowID)
			}
			seen[w.WorkflowID] = true
		}
		if page.NextPageToken == "" {
			break
		}
		q.PageToken = page.NextPageToken
	}
	if !seen[h.ID()] {
		t.Fatalf("paging missed %s", h.ID())
	}
	info, _ := testNode.Describe(h.ID())
	page, err = testNode.List(ListQuery{StartedAfter: info.StartedAt.Add(-time.Second), StartedBefore: info.StartedAt.Add(time.Second), Limit: 1000})
	if err != nil || ids(page)[h.ID()] == "" {
		t.Fatalf("time range list: %v, %v", page, err)
	}
}
