package worker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/raftoral/raftoral-go/worker/workerpb"
)

// The node's deadlines when Registered leaves them zero.
const (
	defaultHeartbeatInterval = 5 * time.Second
	defaultHeartbeatTimeout  = 15 * time.Second
)

// session is one stream to the node and the runs it handed this worker.
type session struct {
	w      *Worker
	parent context.Context // Run's
	ctx    context.Context // cancelled when the stream ends: so are its runs'
	cancel context.CancelCauseFunc
	stream grpc.BidiStreamingClient[workerpb.WorkerMessage, workerpb.NodeMessage]

	sendMu   sync.Mutex // a gRPC stream takes one Send at a time
	lastSent atomic.Int64
	lastHear atomic.Int64

	interval, timeout time.Duration
	maxValue          uint32 // Registered.max_value_bytes, 0: unknown

	mu   sync.Mutex
	runs map[uint64]*run
}

func (s *session) send(m *workerpb.WorkerMessage) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if err := s.stream.Send(m); err != nil {
		return err
	}
	s.lastSent.Store(time.Now().UnixNano())
	return nil
}

func (s *session) heard() { s.lastHear.Store(time.Now().UnixNano()) }

func (s *session) registered(reg *workerpb.Registered) {
	s.interval = time.Duration(reg.GetHeartbeatIntervalMs()) * time.Millisecond
	if s.interval <= 0 {
		s.interval = defaultHeartbeatInterval
	}
	s.timeout = time.Duration(reg.GetHeartbeatTimeoutMs()) * time.Millisecond
	if s.timeout <= 0 {
		s.timeout = defaultHeartbeatTimeout
	}
	s.maxValue = reg.GetMaxValueBytes()
	s.heard()
}

// heartbeats sends a Heartbeat when nothing was sent for an interval, and ends the stream when
// the node has been silent past the timeout (it acks every heartbeat, so a live node never is).
func (s *session) heartbeats() {
	tick := time.NewTicker(max(s.interval/4, time.Millisecond))
	defer tick.Stop()
	hb := &workerpb.WorkerMessage{Kind: &workerpb.WorkerMessage_Heartbeat{Heartbeat: &workerpb.Heartbeat{}}}
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		if silent := now.Sub(time.Unix(0, s.lastHear.Load())); silent > s.timeout {
			s.w.logger.Warn("raftoral worker: the node is silent past its heartbeat timeout; reconnecting", "silent", silent, "timeout", s.timeout)
			s.cancel(&Error{Code: CodeUnavailable, Message: fmt.Sprintf("the node was silent for %v (heartbeat timeout %v)", silent.Round(time.Millisecond), s.timeout)})
			return
		}
		if now.Sub(time.Unix(0, s.lastSent.Load())) >= s.interval {
			if err := s.send(hb); err != nil {
				return // the receive loop sees the stream end
			}
		}
	}
}

// close ends the stream and drops its runs: their functions see their Context cancelled and
// nothing more is sent for them (the node executes them again).
func (s *session) close() {
	cause := &Error{Code: CodeAborted, Message: "the stream to the node was lost: the node runs this workflow again", cancelled: true}
	if s.parent.Err() != nil {
		cause = &Error{Code: CodeAborted, Message: "the worker is stopping", cancelled: true, cause: context.Cause(s.parent)}
	}
	s.cancel(cause)
	s.mu.Lock()
	runs := s.runs
	s.runs = map[uint64]*run{}
	s.mu.Unlock()
	for _, r := range runs {
		r.stop(cause)
	}
}

func (s *session) lookup(id uint64) *run {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs[id]
}

func (s *session) forget(id uint64) {
	s.mu.Lock()
	delete(s.runs, id)
	s.mu.Unlock()
}

func (s *session) dispatch(m *workerpb.NodeMessage) {
	log := s.w.logger
	switch k := m.GetKind().(type) {
	case *workerpb.NodeMessage_Execute:
		s.execute(k.Execute)
	case *workerpb.NodeMessage_CheckpointCommitted:
		s.answer(k.CheckpointCommitted.GetRun(), k.CheckpointCommitted.GetKey(), k.CheckpointCommitted.GetSeq(), m)
	case *workerpb.NodeMessage_RunCompute:
		s.answer(k.RunCompute.GetRun(), k.RunCompute.GetKey(), k.RunCompute.GetSeq(), m)
	case *workerpb.NodeMessage_CallFailed:
		s.answer(k.CallFailed.GetRun(), k.CallFailed.GetKey(), k.CallFailed.GetSeq(), m)
	case *workerpb.NodeMessage_Cancel:
		c := k.Cancel
		r := s.lookup(c.GetRun())
		if r == nil {
			log.Debug("raftoral worker: Cancel for a run this worker does not hold", "run", c.GetRun())
			return
		}
		s.forget(c.GetRun())
		code := CodeAborted
		if c.GetReason() == workerpb.Cancel_TERMINATED {
			code = CodeWorkflowTerminated
			r.terminated.Store(true)
		}
		msg := "run cancelled by the node"
		if c.GetMessage() != "" {
			msg += ": " + c.GetMessage()
		}
		log.Info("raftoral worker: run cancelled", "run", r.id, "workflow_id", r.exec.GetWorkflowId(), "reason", c.GetReason().String(), "message", c.GetMessage())
		r.stop(&Error{Code: code, Message: msg, Detail: c.GetReason().String(), cancelled: true})
	case *workerpb.NodeMessage_Ack:
		// Heartbeat acks (run 0) only prove the node alive: heard() did that.
	case *workerpb.NodeMessage_ProtocolError:
		log.Error("raftoral worker: the node reports a protocol error", "run", k.ProtocolError.GetRun(), "message", k.ProtocolError.GetMessage(), "fatal", k.ProtocolError.GetFatal())
	case *workerpb.NodeMessage_Registered:
		log.Error("raftoral worker: a second Registered from the node, ignored")
	default:
		log.Error("raftoral worker: unknown message from the node, ignored", "kind", fmt.Sprintf("%T", k))
	}
}

func (s *session) answer(id uint64, key string, seq uint64, m *workerpb.NodeMessage) {
	r := s.lookup(id)
	if r == nil {
		s.w.logger.Debug("raftoral worker: answer for a run this worker does not hold", "run", id, "key", key, "seq", seq)
		return
	}
	r.deliver(key, seq, m)
}

// execute starts a run the node hands this worker.
func (s *session) execute(e *workerpb.Execute) {
	w := s.w
	reg := w.lookup(e.GetType(), int(e.GetVersion()))
	// Not a child of the session's context: the run's cause must be the library's error (run
	// cancelled, stream lost, worker stopping), which close() sets, not the Run context's.
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(s.ctx))
	r := newRun(s, e, ctx, cancel)
	s.mu.Lock()
	if _, dup := s.runs[r.id]; dup || s.ctx.Err() != nil {
		s.mu.Unlock()
		cancel(nil)
		w.logger.Error("raftoral worker: Execute for a run already held, ignored", "run", r.id)
		return
	}
	s.runs[r.id] = r
	s.mu.Unlock()
	w.runs.Add(1)
	go func() {
		defer w.runs.Done()
		if w.slots != nil {
			// The node sends at most MaxConcurrentRuns; functions of a lost stream that have
			// not returned yet still hold theirs.
			select {
			case w.slots <- struct{}{}:
				defer func() { <-w.slots }()
			case <-ctx.Done():
				r.finish(nil, r.stopErr())
				return
			}
		}
		if reg == nil {
			r.finish(nil, &Error{Code: CodeNotRegistered, Message: fmt.Sprintf("workflow %q version %d is not registered on this worker", e.GetType(), e.GetVersion())})
			return
		}
		out, err := r.invoke(reg.fn)
		r.finish(out, err)
	}()
}

// invoke runs the workflow function, a panic becoming a *PanicError.
func (r *run) invoke(fn Func) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, newPanicError(p)
		}
	}()
	return fn(&Context{Context: r.ctx, r: r}, r.exec.GetInput())
}

// finish sends the run's WorkflowResult, unless the run was cancelled or its stream lost.
func (r *run) finish(out []byte, err error) {
	s := r.s
	if !r.end() {
		s.forget(r.id)
		return // cancelled: the node wants nothing more for this run
	}
	s.forget(r.id)
	res := &workerpb.WorkflowResult{Run: r.id}
	if err != nil {
		res.Outcome = &workerpb.WorkflowResult_Error{Error: failure(err)}
		s.w.logger.Info("raftoral worker: workflow function failed", "run", r.id, "workflow_id", r.exec.GetWorkflowId(), "error", err)
	} else {
		if out == nil {
			out = []byte("null")
		}
		res.Outcome = &workerpb.WorkflowResult_Result{Result: out}
		if max := s.maxValue; max > 0 && len(out) > int(max) {
			err = &Error{Code: CodePayloadTooLarge, Message: fmt.Sprintf("the workflow's result is %d bytes, over the node's limit of %d", len(out), max)}
			res.Outcome = &workerpb.WorkflowResult_Error{Error: failure(err)}
		}
	}
	if serr := s.send(&workerpb.WorkerMessage{Kind: &workerpb.WorkerMessage_WorkflowResult{WorkflowResult: res}}); serr != nil {
		s.w.logger.Warn("raftoral worker: could not send a workflow result; the node runs the workflow again", "run", r.id, "error", serr)
	}
}
