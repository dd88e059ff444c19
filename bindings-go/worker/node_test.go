package worker_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/raftoral/raftoral-go/worker"
	pb "github.com/raftoral/raftoral-go/worker/workerpb"
)

// The worker against a real node process (`raftoral node --worker-address`), started through
// the repository's ./raftoral launcher; workflows are started and awaited over the node's client
// API. Skipped when the node is not built (the launcher would build it, for minutes).

type realNode struct {
	api, workers string
	client       pb.RaftoralApiClient
	cmd          *exec.Cmd
	exited       chan struct{}
}

// nodeArgs are the flags of one node: a restart with the same ones is the same node.
type nodeArgs []string

func newNodeArgs(t *testing.T, dataDir string) nodeArgs {
	storage := []string{"--in-memory"}
	if dataDir != "" {
		storage = []string{"--data-dir", dataDir}
	}
	// The launcher takes no port 0: ports that were free a moment ago.
	return append(append([]string{"node", "--bootstrap"}, storage...),
		"--raft-address", freeAddr(t), "--api-address", freeAddr(t), "--worker-address", freeAddr(t))
}

func startRealNode(t *testing.T, args nodeArgs) *realNode {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no node process")
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	for _, p := range []string{"examples/target/classes", "examples/target/classpath.txt"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Skipf("the node is not built (%s missing): run `mvn install -DskipTests` and `mvn -pl examples dependency:build-classpath -Dmdep.outputFile=target/classpath.txt` at the repository root (or `make build`)", p)
		}
	}
	logFile, err := os.CreateTemp(t.TempDir(), "node-*.log")
	must(t, err)
	logPath := logFile.Name()
	cmd := exec.Command(filepath.Join(root, "raftoral"), args...)
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	n := &realNode{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(n.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(wait):
			_ = cmd.Process.Kill()
			<-n.exited
		}
		logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("node log %s:\n%s", logPath, tail(string(b), 8000))
			}
		}
	})
	// "node 1 serving api H:P raft H:P workers H:P"
	serving := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if strings.Contains(lines.Text(), " serving ") {
				serving <- lines.Text()
			}
		}
		close(serving)
	}()
	select {
	case line, ok := <-serving:
		if !ok {
			t.Fatalf("the node exited before serving")
		}
		f := strings.Fields(line)
		for i := 0; i+1 < len(f); i++ {
			switch f[i] {
			case "api":
				n.api = f[i+1]
			case "workers":
				n.workers = f[i+1]
			}
		}
		if n.api == "" || n.workers == "" {
			t.Fatalf("serving line %q names no api or workers address", line)
		}
	case <-time.After(2 * wait):
		t.Fatal("the node did not start")
	}
	conn, err := grpc.NewClient(n.api, grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	n.client = pb.NewRaftoralApiClient(conn)
	return n
}

// kill ends the node process with SIGKILL and waits for it.
func (n *realNode) kill(t *testing.T) {
	t.Helper()
	must(t, n.cmd.Process.Signal(syscall.SIGKILL))
	<-n.exited
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (n *realNode) start(t *testing.T, typ, id string, input any) {
	t.Helper()
	in, _ := json.Marshal(input)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		_, err := n.client.Start(ctx, &pb.StartRequest{Type: typ, Version: 1, Input: in, WorkflowId: id})
		if err == nil {
			return
		}
		// The type is registered once the worker's stream is: until then the node refuses it.
		if status.Code(err) != codes.FailedPrecondition || ctx.Err() != nil {
			t.Fatalf("start %s: %v", id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (n *realNode) await(t *testing.T, id string) *pb.WorkflowOutcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()
	out, err := n.client.Await(ctx, &pb.AwaitRequest{WorkflowId: id, TimeoutMillis: (2 * wait).Milliseconds()})
	if err != nil {
		t.Fatalf("await %s: %v", id, err)
	}
	return out
}

// goOrders is the test's workflow code, counting the runs of its compute steps per workflow.
type goOrders struct {
	mu      sync.Mutex
	charges map[string]int
	gates   map[string]chan struct{} // closed when a function reaches its gate
	passed  map[string]bool
	cause   chan error // why a held function unwound
}

func newGoOrders() *goOrders {
	return &goOrders{charges: map[string]int{}, gates: map[string]chan struct{}{}, passed: map[string]bool{}, cause: make(chan error, 4)}
}

func (g *goOrders) charged(id string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.charges[id]
}

func (g *goOrders) gate(id string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gates[id] == nil {
		g.gates[id] = make(chan struct{})
	}
	return g.gates[id]
}

func (g *goOrders) register(t *testing.T, w *worker.Worker) {
	must(t, worker.Register(w, "go_order", 1, func(ctx *worker.Context, o order) (receipt, error) {
		charge, err := worker.CheckpointCompute(ctx, "charge", func(context.Context) (string, error) {
			g.mu.Lock()
			g.charges[o.ID]++
			g.mu.Unlock()
			return "ch-" + o.ID, nil
		})
		if err != nil {
			return receipt{}, err
		}
		count, err := worker.NewVar(ctx, "count", 0)
		if err != nil {
			return receipt{}, err
		}
		for i := 0; i < o.Items; i++ {
			if _, err := count.Update(func(n int) int { return n + 1 }); err != nil {
				return receipt{}, err
			}
		}
		if strings.HasPrefix(o.ID, "hold") {
			// The first time here: wait until the run is taken away (the worker leaves, or
			// the workflow is terminated); a run executed again goes on.
			g.mu.Lock()
			first := !g.passed[o.ID]
			g.passed[o.ID] = true
			g.mu.Unlock()
			if first {
				close(g.gate(o.ID))
				<-ctx.Done()
				g.cause <- context.Cause(ctx)
				return receipt{}, ctx.Err()
			}
		}
		return receipt{ID: o.ID, Charge: charge, Count: count.Get()}, nil
	}))
	must(t, worker.Register(w, "go_fail", 1, func(ctx *worker.Context, o order) (receipt, error) {
		_, err := worker.CheckpointCompute(ctx, "reserve", func(context.Context) (int, error) {
			return 0, &outOfStock{item: o.ID}
		})
		var oos *outOfStock
		if !errors.As(err, &oos) {
			return receipt{}, fmt.Errorf("want the compute step's own error, got %v", err)
		}
		return receipt{}, err
	}))
}

func runRealWorker(t *testing.T, n *realNode, g *goOrders) (stop func() error) {
	w := worker.New(worker.Options{Target: n.workers, WorkerID: "go-it", MaxConcurrentRuns: 8, Logger: testLogger(),
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond})
	g.register(t, w)
	return runWorker(t, w)
}

func TestAgainstRealNode(t *testing.T) {
	n := startRealNode(t, newNodeArgs(t, ""))
	g := newGoOrders()
	stop1 := runRealWorker(t, n, g)

	t.Run("completes", func(t *testing.T) {
		n.start(t, "go_order", "ok-1", order{ID: "ok-1", Items: 3})
		out := n.await(t, "ok-1")
		if out.GetInfo().GetStatus() != pb.WorkflowStatus_COMPLETED {
			t.Fatalf("outcome %v", out.GetInfo())
		}
		var r receipt
		must(t, json.Unmarshal(out.GetResult(), &r))
		if r != (receipt{ID: "ok-1", Charge: "ch-ok-1", Count: 3}) {
			t.Fatalf("result %+v", r)
		}
		if c := g.charged("ok-1"); c != 1 {
			t.Fatalf("the compute step ran %d times, want 1", c)
		}
	})

	t.Run("fails with the compute step's error", func(t *testing.T) {
		n.start(t, "go_fail", "fail-1", order{ID: "apple"})
		info := n.await(t, "fail-1").GetInfo()
		if info.GetStatus() != pb.WorkflowStatus_FAILED || info.GetErrorType() != "*worker_test.outOfStock" || info.GetErrorMessage() != "out of stock: apple" {
			t.Fatalf("outcome %v", info)
		}
	})

	t.Run("terminated while running", func(t *testing.T) {
		n.start(t, "go_order", "hold-term", order{ID: "hold-term", Items: 1})
		waitGate(t, g, "hold-term")
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if _, err := n.client.Terminate(ctx, &pb.TerminateRequest{WorkflowId: "hold-term", Reason: "test"}); err != nil {
			t.Fatal(err)
		}
		if cause := <-g.cause; !errors.Is(cause, worker.ErrTerminated) {
			t.Fatalf("the function unwound with %v, want ErrTerminated", cause)
		}
		if info := n.await(t, "hold-term").GetInfo(); info.GetStatus() != pb.WorkflowStatus_TERMINATED {
			t.Fatalf("outcome %v", info)
		}
	})

	// The worker leaves mid-workflow (after its compute step committed); a new worker gets the
	// run again with the values given out, and the compute step does not run again.
	t.Run("worker lost mid-step", func(t *testing.T) {
		n.start(t, "go_order", "hold-lost", order{ID: "hold-lost", Items: 2})
		waitGate(t, g, "hold-lost")
		if err := stop1(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if cause := <-g.cause; !errors.Is(cause, worker.ErrRunCancelled) {
			t.Fatalf("the function unwound with %v, want a cancelled run", cause)
		}
		runRealWorker(t, n, g)
		out := n.await(t, "hold-lost")
		var r receipt
		if out.GetInfo().GetStatus() != pb.WorkflowStatus_COMPLETED || json.Unmarshal(out.GetResult(), &r) != nil || r != (receipt{ID: "hold-lost", Charge: "ch-hold-lost", Count: 2}) {
			t.Fatalf("outcome %v %s", out.GetInfo(), out.GetResult())
		}
		if c := g.charged("hold-lost"); c != 1 {
			t.Fatalf("the compute step ran %d times, want 1", c)
		}
	})
}

func waitGate(t *testing.T, g *goOrders, id string) {
	t.Helper()
	select {
	case <-g.gate(id):
	case <-time.After(2 * wait):
		t.Fatalf("workflow %s did not reach its gate", id)
	}
}

// The node is killed (SIGKILL) while a workflow waits after its compute step; the worker
// reconnects to the restarted node by itself, the workflow completes there, and its committed
// compute step does not run again.
func TestRealNodeKilledUnderTheWorker(t *testing.T) {
	args := newNodeArgs(t, filepath.Join(t.TempDir(), "node"))
	n := startRealNode(t, args)
	g := newGoOrders()
	w := worker.New(worker.Options{Target: n.workers, WorkerID: "go-it", Logger: testLogger(),
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond})
	g.register(t, w)
	runWorker(t, w)
	n.start(t, "go_order", "hold-node", order{ID: "hold-node", Items: 2})
	waitGate(t, g, "hold-node")
	n.kill(t)
	if cause := <-g.cause; !errors.Is(cause, worker.ErrRunCancelled) || !errors.Is(cause, worker.ErrAborted) {
		t.Fatalf("the function unwound with %v, want a cancelled run (stream lost)", cause)
	}
	n2 := startRealNode(t, args)
	out := n2.await(t, "hold-node")
	var r receipt
	if out.GetInfo().GetStatus() != pb.WorkflowStatus_COMPLETED || json.Unmarshal(out.GetResult(), &r) != nil || r != (receipt{ID: "hold-node", Charge: "ch-hold-node", Count: 2}) {
		t.Fatalf("outcome %v %s", out.GetInfo(), out.GetResult())
	}
	if c := g.charged("hold-node"); c != 1 {
		t.Fatalf("the compute step ran %d times, want 1", c)
	}
}
