package worker_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	pb "github.com/raftoral/raftoral-go/worker/workerpb"
)

// wait bounds every wait of the tests: a failure when exceeded, never a measurement.
const wait = 30 * time.Second

// fakeNode plays the node's half of the worker protocol in unit tests: each stream a worker
// opens is handed to the test as a fakeConn, which the test drives message by message.
type fakeNode struct {
	pb.UnimplementedWorkerServiceServer
	addr  string
	conns chan *fakeConn
}

type fakeConn struct {
	stream     grpc.BidiStreamingServer[pb.WorkerMessage, pb.NodeMessage]
	in         chan *pb.WorkerMessage // everything but heartbeats
	heartbeats atomic.Int32
	ackBeats   atomic.Bool
	end        chan error    // the test ends the stream with this status
	done       chan struct{} // the worker's side of the stream ended
	sendMu     chan struct{}
}

func startFake(t *testing.T) *fakeNode {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNode{addr: l.Addr().String(), conns: make(chan *fakeConn, 16)}
	srv := grpc.NewServer()
	pb.RegisterWorkerServiceServer(srv, f)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return f
}

func (f *fakeNode) Connect(stream grpc.BidiStreamingServer[pb.WorkerMessage, pb.NodeMessage]) error {
	c := &fakeConn{stream: stream, in: make(chan *pb.WorkerMessage, 1000), end: make(chan error, 1), done: make(chan struct{}), sendMu: make(chan struct{}, 1)}
	c.ackBeats.Store(true)
	go func() {
		defer close(c.done)
		for {
			m, err := stream.Recv()
			if err != nil {
				return
			}
			if m.GetHeartbeat() != nil {
				c.heartbeats.Add(1)
				if c.ackBeats.Load() {
					c.send(&pb.NodeMessage{Kind: &pb.NodeMessage_Ack{Ack: &pb.Ack{}}})
				}
				continue
			}
			c.in <- m
		}
	}()
	f.conns <- c
	select {
	case err := <-c.end:
		return err
	case <-c.done:
		return nil
	case <-stream.Context().Done():
		return nil
	}
}

// accept waits for the worker's next stream.
func (f *fakeNode) accept(t *testing.T) *fakeConn {
	t.Helper()
	select {
	case c := <-f.conns:
		return c
	case <-time.After(wait):
		t.Fatal("no stream from the worker")
		return nil
	}
}

// acceptRegistered accepts a stream, checks its Register and answers Registered.
func (f *fakeNode) acceptRegistered(t *testing.T, reg *pb.Registered) (*fakeConn, *pb.Register) {
	t.Helper()
	c := f.accept(t)
	m := c.recv(t)
	r := m.GetRegister()
	if r == nil {
		t.Fatalf("first message %v, want Register", m)
	}
	if reg == nil {
		reg = defaultRegistered()
	}
	c.send(&pb.NodeMessage{Kind: &pb.NodeMessage_Registered{Registered: reg}})
	return c, r
}

func defaultRegistered() *pb.Registered {
	return &pb.Registered{ProtocolVersion: 1, NodeId: 1, ClusterId: "test", HeartbeatIntervalMs: 100, HeartbeatTimeoutMs: 10000,
		MaxConcurrentRuns: 256, MaxCallsInFlight: 16, MaxValueBytes: 4096, MaxQueuedMessages: 1024}
}

func (c *fakeConn) send(m *pb.NodeMessage) {
	c.sendMu <- struct{}{}
	defer func() { <-c.sendMu }()
	_ = c.stream.Send(m)
}

// recv is the worker's next message other than a heartbeat.
func (c *fakeConn) recv(t *testing.T) *pb.WorkerMessage {
	t.Helper()
	select {
	case m := <-c.in:
		return m
	case <-time.After(wait):
		t.Fatal("no message from the worker")
		return nil
	}
}

// recvCheckpoint is the worker's next message, which must be a CheckpointProposal.
func (c *fakeConn) recvCheckpoint(t *testing.T) *pb.CheckpointProposal {
	t.Helper()
	m := c.recv(t)
	if m.GetCheckpoint() == nil {
		t.Fatalf("got %v, want a CheckpointProposal", m)
	}
	return m.GetCheckpoint()
}

func (c *fakeConn) recvResult(t *testing.T) *pb.WorkflowResult {
	t.Helper()
	m := c.recv(t)
	if m.GetWorkflowResult() == nil {
		t.Fatalf("got %v, want a WorkflowResult", m)
	}
	return m.GetWorkflowResult()
}

func (c *fakeConn) execute(e *pb.Execute) {
	if e.Version == 0 {
		e.Version = 1
	}
	if e.WorkflowId == "" {
		e.WorkflowId = "wf-" + e.Type
	}
	c.send(&pb.NodeMessage{Kind: &pb.NodeMessage_Execute{Execute: e}})
}

func (c *fakeConn) commit(run uint64, key string, seq uint64, value string) {
	c.send(&pb.NodeMessage{Kind: &pb.NodeMessage_CheckpointCommitted{CheckpointCommitted: &pb.CheckpointCommitted{Run: run, Key: key, Seq: seq, Value: []byte(value)}}})
}

func (c *fakeConn) runCompute(run uint64, key string, seq uint64) {
	c.send(&pb.NodeMessage{Kind: &pb.NodeMessage_RunCompute{RunCompute: &pb.RunCompute{Run: run, Key: key, Seq: seq}}})
}

func (c *fakeConn) callFailed(f *pb.CallFailed) {
	c.send(&pb.NodeMessage{Kind: &pb.NodeMessage_CallFailed{CallFailed: f}})
}

func (c *fakeConn) cancel(run uint64, reason pb.Cancel_Reason, msg string) {
	c.send(&pb.NodeMessage{Kind: &pb.NodeMessage_Cancel{Cancel: &pb.Cancel{Run: run, Reason: reason, Message: msg}}})
}

func (c *fakeConn) ack(run uint64) {
	c.send(&pb.NodeMessage{Kind: &pb.NodeMessage_Ack{Ack: &pb.Ack{Run: run}}})
}

// expectNothing checks that the worker sends no message (heartbeats aside) while the worker
// proves it is past the point where it would have: the caller sends a probe run first and
// waits for its result, so a stray message would have arrived before it (one stream is ordered).
func (c *fakeConn) expectOnly(t *testing.T, run uint64) *pb.WorkerMessage {
	t.Helper()
	m := c.recv(t)
	if got := runOf(m); got != run {
		t.Fatalf("got a message of run %d (%v), want only run %d's", got, m, run)
	}
	return m
}

func runOf(m *pb.WorkerMessage) uint64 {
	switch {
	case m.GetCheckpoint() != nil:
		return m.GetCheckpoint().GetRun()
	case m.GetComputeResult() != nil:
		return m.GetComputeResult().GetRun()
	case m.GetWorkflowResult() != nil:
		return m.GetWorkflowResult().GetRun()
	}
	return 0
}

// testLogger sends the library's logs to stderr only with -v, keeping failures readable.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// runWorker runs w against the fake until the test ends, and checks Run's return.
func runWorker(t *testing.T, w interface{ Run(context.Context) error }) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	stopped := false
	var result error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case result = <-done:
			case <-time.After(wait):
				t.Error("Run did not return after its context was cancelled")
			}
		}
		return result
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return stop
}
