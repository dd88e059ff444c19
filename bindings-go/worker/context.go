package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/raftoral/raftoral-go/worker/workerpb"
)

// Context is what a running workflow function uses: it is a context.Context, cancelled when the
// node cancels the run (Cancel), when the stream to the node is lost, when the worker stops, and
// once the function has returned; and it makes the run's checkpoint calls to the node.
//
// Its methods may be called from goroutines the workflow starts, until the function returns:
// calls are serialized, so the n-th write of a key is the n-th call that got its turn. A compute
// function (CheckpointCompute) may not use the Context (ErrInvalidArgument), nor wait for a
// goroutine that does.
//
// Checkpoint contract (SPEC §3): per key, the committed values form one ordered sequence; the
// n-th write of a key in a run returns the n-th committed value of that key.
type Context struct {
	context.Context
	r *run
}

// WorkflowID is the id of the running workflow.
func (c *Context) WorkflowID() string { return c.r.exec.GetWorkflowId() }

// Type is the workflow's type name.
func (c *Context) Type() string { return c.r.exec.GetType() }

// Version is the workflow type's version.
func (c *Context) Version() int { return int(c.r.exec.GetVersion()) }

// IsOwner reports whether the node owned the workflow when it handed this run to the worker;
// informational (ownership may move at any step, and the node decides which calls propose).
func (c *Context) IsOwner() bool { return c.r.exec.GetIsOwner() }

// IsTerminated reports whether a client terminated the workflow (the node sent Cancel with
// reason TERMINATED): a function that waits for something outside checkpoints should poll it
// (or watch Done) and return.
func (c *Context) IsTerminated() bool { return c.r.terminated.Load() }

// Checkpoint records value as the next value of key and returns the committed value: the
// owner's, which may differ from value on a member that is not the owner or after a replay.
// The key must be non-empty UTF-8 of at most 1024 bytes.
//
// Once the run is cancelled it returns an error matching ErrRunCancelled (and ErrTerminated
// or ErrAborted): return from the workflow function then.
func (c *Context) Checkpoint(key string, value []byte) ([]byte, error) {
	if value == nil {
		value = []byte{}
	}
	return c.r.call(key, value, false, nil)
}

// CheckpointCompute runs fn only when the node asks for it (RunCompute: this node owns the
// workflow and the position is not committed yet), sends its result, and returns the committed
// value; fn never runs for a position that is committed already or on a member that is not the
// owner. Put side effects here. fn gets a context.Context cancelled with the run.
//
// When fn returns an error (or panics, as a *PanicError), nothing is committed and that same
// error is returned, so errors.Is and errors.As work on it; the position stays free, so a
// retry with the same key commits there.
func (c *Context) CheckpointCompute(key string, fn func(context.Context) ([]byte, error)) ([]byte, error) {
	if fn == nil {
		return nil, invalidArgument("the compute function of key %q must not be nil", key)
	}
	return c.r.call(key, nil, true, fn)
}

// maxKeyBytes is the protocol's bound on a key (CheckpointProposal.key).
const maxKeyBytes = 1024

// run is one Execute of the node: a workflow function running here.
type run struct {
	s      *session
	id     uint64
	exec   *workerpb.Execute
	ctx    context.Context
	cancel context.CancelCauseFunc

	terminated atomic.Bool
	computeG   atomic.Uint64 // the goroutine running a compute function of the run, 0: none

	turn    sync.Mutex // one call at a time, held across its round trip to the node
	seqs    map[string]uint64
	history map[string]map[uint64][]byte

	mu        sync.Mutex
	state     runState
	stopCause error
	pending   *pendingCall
}

type runState int

const (
	running runState = iota
	stopped          // cancelled by the node, its stream lost or the worker stopping
	ended            // the function returned
)

type pendingCall struct {
	key     string
	seq     uint64
	answers chan *workerpb.NodeMessage
}

func newRun(s *session, e *workerpb.Execute, ctx context.Context, cancel context.CancelCauseFunc) *run {
	r := &run{s: s, id: e.GetRun(), exec: e, ctx: ctx, cancel: cancel, seqs: map[string]uint64{}, history: map[string]map[uint64][]byte{}}
	for _, h := range e.GetHistory() {
		byKey := r.history[h.GetKey()]
		if byKey == nil {
			byKey = map[uint64][]byte{}
			r.history[h.GetKey()] = byKey
		}
		byKey[h.GetSeq()] = h.GetValue()
	}
	return r
}

// stop cancels the run for cause (Cancel, a lost stream, the worker stopping); the function's
// calls return cause from now on and nothing more is sent for the run.
func (r *run) stop(cause error) {
	r.mu.Lock()
	if r.state == running {
		r.state = stopped
		r.stopCause = cause
	}
	r.mu.Unlock()
	r.cancel(cause)
}

// end marks the function returned; false when the run was stopped before (then nothing is sent
// for it). It waits for a call still made by one of the workflow's goroutines, which now fails.
func (r *run) end() bool {
	r.mu.Lock()
	if r.state != running || r.ctx.Err() != nil {
		// Stopped, or its stream or worker is ending (the session stops it next): the node
		// executes the workflow again, nothing is sent.
		r.mu.Unlock()
		return false
	}
	r.state = ended
	r.mu.Unlock()
	r.cancel(errFunctionReturned)
	r.turn.Lock()
	//nolint:staticcheck // an empty critical section: waits for the call holding the turn
	r.turn.Unlock()
	return true
}

var errFunctionReturned = &Error{Code: CodeInvalidHandle, Message: "the workflow context is no longer valid: its workflow function returned"}

// stopErr is nil while the run goes on, else why its calls fail.
func (r *run) stopErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.state {
	case stopped:
		return r.stopCause
	case ended:
		return errFunctionReturned
	}
	if r.ctx.Err() == nil {
		return nil
	}
	// Cancelled through its session before the session stopped it.
	cause := context.Cause(r.ctx)
	var e *Error
	switch {
	case errors.As(cause, &e) && e.cancelled:
		return e
	case r.s.parent.Err() != nil:
		return &Error{Code: CodeAborted, Message: "the worker is stopping", cancelled: true, cause: cause}
	}
	return &Error{Code: CodeAborted, Message: fmt.Sprintf("the stream to the node was lost (%v): the node runs this workflow again", cause), cancelled: true, cause: cause}
}

// deliver hands the node's answer to the call waiting for it.
func (r *run) deliver(key string, seq uint64, m *workerpb.NodeMessage) {
	r.mu.Lock()
	p := r.pending
	r.mu.Unlock()
	if p == nil || p.key != key || p.seq != seq {
		r.s.w.logger.Error("raftoral worker: the node answered a call the run is not waiting for, ignored", "run", r.id, "key", key, "seq", seq, "kind", fmt.Sprintf("%T", m.GetKind()))
		return
	}
	select {
	case p.answers <- m:
	default:
		r.s.w.logger.Error("raftoral worker: too many answers from the node for one call, ignored", "run", r.id, "key", key, "seq", seq)
	}
}

func (r *run) maxValueBytes() int { return int(r.s.maxValue) }

// call makes one checkpoint call of the run: answered from the Execute's history when the
// position is there, else proposed to the node and awaited.
func (r *run) call(key string, value []byte, compute bool, fn func(context.Context) ([]byte, error)) ([]byte, error) {
	if g := r.computeG.Load(); g != 0 && g == goid() {
		return nil, invalidArgument("a compute function must not use the workflow Context (call of key %q): the node answers no call of the run before the step's result", key)
	}
	if key == "" || !utf8.ValidString(key) || len(key) > maxKeyBytes {
		return nil, invalidArgument("a checkpoint key must be non-empty UTF-8 of at most %d bytes, got %d bytes", maxKeyBytes, len(key))
	}
	if max := r.maxValueBytes(); max > 0 && len(value) > max {
		return nil, &Error{Code: CodePayloadTooLarge, Message: fmt.Sprintf("the value of key %q is %d bytes, over the node's limit of %d", key, len(value), max)}
	}
	r.turn.Lock()
	defer r.turn.Unlock()
	if err := r.stopErr(); err != nil {
		return nil, err
	}
	seq := r.seqs[key]
	if v, ok := r.history[key][seq]; ok {
		// The node gave this value out already (to a worker that was lost): replay it.
		r.seqs[key] = seq + 1
		return v, nil
	}
	p := &pendingCall{key: key, seq: seq, answers: make(chan *workerpb.NodeMessage, 4)}
	r.mu.Lock()
	r.pending = p
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.pending = nil
		r.mu.Unlock()
	}()
	proposal := &workerpb.CheckpointProposal{Run: r.id, Key: key, Seq: seq, Value: value, Compute: compute}
	if compute {
		proposal.Value = nil
	}
	if err := r.send(&workerpb.WorkerMessage{Kind: &workerpb.WorkerMessage_Checkpoint{Checkpoint: proposal}}); err != nil {
		return nil, err
	}
	var computeErr error // fn's own error, returned when the node echoes it in CallFailed
	computed := false
	for {
		var m *workerpb.NodeMessage
		select {
		case <-r.ctx.Done():
			return nil, r.stopErr()
		case m = <-p.answers:
		}
		switch k := m.GetKind().(type) {
		case *workerpb.NodeMessage_RunCompute:
			if !compute || computed {
				r.s.w.logger.Error("raftoral worker: RunCompute for a call that is not a pending compute step, ignored", "run", r.id, "key", key, "seq", seq)
				continue
			}
			computed = true
			res := &workerpb.ComputeResult{Run: r.id, Key: key, Seq: seq}
			v, err := r.compute(fn)
			if err == nil {
				if max := r.maxValueBytes(); max > 0 && len(v) > max {
					err = &Error{Code: CodePayloadTooLarge, Message: fmt.Sprintf("the computed value of key %q is %d bytes, over the node's limit of %d", key, len(v), max)}
				}
			}
			if err != nil {
				computeErr = err
				res.Outcome = &workerpb.ComputeResult_Error{Error: failure(err)}
			} else {
				res.Outcome = &workerpb.ComputeResult_Value{Value: v}
			}
			if err := r.send(&workerpb.WorkerMessage{Kind: &workerpb.WorkerMessage_ComputeResult{ComputeResult: res}}); err != nil {
				return nil, err
			}
		case *workerpb.NodeMessage_CheckpointCommitted:
			r.seqs[key] = seq + 1
			return k.CheckpointCommitted.GetValue(), nil
		case *workerpb.NodeMessage_CallFailed:
			f := k.CallFailed
			if computeErr != nil && f.GetCode() == workerpb.ErrorCode_ERR_WORKFLOW_FAILED {
				return nil, computeErr
			}
			return nil, &Error{Code: Code(f.GetCode()), Message: f.GetMessage(), Detail: f.GetFailure().GetType()}
		}
	}
}

// send sends a message of the run, unless the run was cancelled meanwhile (then it returns
// the reason).
func (r *run) send(m *workerpb.WorkerMessage) error {
	if err := r.stopErr(); err != nil {
		return err
	}
	if err := r.s.send(m); err != nil {
		// A broken stream: its receive loop ends too and stops the session's runs.
		if stop := r.stopErr(); stop != nil {
			return stop
		}
		return &Error{Code: CodeUnavailable, Message: "cannot send to the node: " + err.Error(), cause: err}
	}
	return nil
}

// compute runs a compute function on this goroutine, a panic becoming a *PanicError.
func (r *run) compute(fn func(context.Context) ([]byte, error)) (v []byte, err error) {
	r.computeG.Store(goid())
	defer r.computeG.Store(0)
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, newPanicError(p)
		}
	}()
	return fn(r.ctx)
}

func newPanicError(p any) *PanicError { return &PanicError{Value: p, Stack: debug.Stack()} }

// goid is the current goroutine's id, read from its stack header ("goroutine 42 [running]:").
// Go exposes no other way to tell that a Context call comes from inside a compute function,
// which would otherwise deadlock (the node holds the call until the step's result).
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}
