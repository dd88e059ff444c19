// Command conformance-go-worker is the go-worker entry point of the conformance suite: a worker
// process beside one `raftoral node`, running the instruction-set interpreter (conformance/gointerp,
// shared with conformance/go, on the worker library's API) as worker-hosted workflows through
// raftoral-go/worker (conformance/README.md, "Worker entry points").
//
// Usage: conformance-go-worker --target HOST:PORT (the node's worker address).
// $CONFORMANCE_LOG names the side-effect log, $CONFORMANCE_NODE the node's label. It prints
// {"event":"registered","node_id":N} on stdout each time the worker has registered with its
// node (nothing else goes to stdout; logs go to stderr), and exits on SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/raftoral/raftoral-go/conformance/gointerp"
	"github.com/raftoral/raftoral-go/worker"
	"github.com/raftoral/raftoral-go/worker/workerpb"
)

// host is the interpreter's gointerp.Context over the worker library's context.
type host struct{ *worker.Context }

// CheckpointCompute runs fn when the node asks for it (the worker's compute functions take the
// step's context; the interpreter's effects do not use it).
func (h host) CheckpointCompute(key string, fn func() ([]byte, error)) ([]byte, error) {
	return h.Context.CheckpointCompute(key, func(context.Context) ([]byte, error) { return fn() })
}

func (h host) NewVar(key string, initial any) (gointerp.Var, error) {
	v, err := worker.NewVar[any](h.Context, key, initial)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Canonical names an error of this surface as the suite does: the C ABI's status name without
// its prefix.
func (host) Canonical(err error) string {
	var e *worker.Error
	if errors.As(err, &e) {
		return strings.TrimPrefix(e.Code.String(), "ERR_")
	}
	return "INTERNAL"
}

// Stopping: the node cancelled the run (terminated, ownership lost, ...), its stream was lost,
// or the worker stops.
func (host) Stopping(err error) bool {
	return errors.Is(err, worker.ErrRunCancelled) || errors.Is(err, worker.ErrTerminated) || errors.Is(err, worker.ErrAborted)
}

func workflow(version int) worker.Func {
	return func(ctx *worker.Context, input []byte) ([]byte, error) {
		return gointerp.Run(host{ctx}, version, input)
	}
}

// ---- the worker process ----

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "conformance-go-worker:", err)
		os.Exit(1)
	}
}

func run() error {
	target := flag.String("target", "", "the node's worker address, HOST:PORT")
	flag.Parse()
	if *target == "" || flag.NArg() != 0 {
		return errors.New("usage: conformance-go-worker --target HOST:PORT")
	}
	if err := gointerp.OpenLog(); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	w := worker.New(worker.Options{
		Target:   *target,
		WorkerID: "conformance-go-" + gointerp.NodeLabel,
		Logger:   logger,
		// The suite kills and restarts nodes under their workers: come back within a second.
		MinBackoff: 100 * time.Millisecond,
		MaxBackoff: time.Second,
		OnRegistered: func(r *workerpb.Registered) {
			gointerp.Send(map[string]any{"event": "registered", "node_id": r.GetNodeId()})
		},
	})
	for _, reg := range []struct {
		typ     string
		version int
		mode    worker.Mode
		keep    int64
	}{
		{"conformance", 1, worker.HotStandby, 0},
		{"conformance", 2, worker.HotStandby, 0},
		{"conformance_owner_only", 1, worker.OwnerOnly, 0},
		{"conformance_keep_last", 1, worker.HotStandby, 2},
	} {
		if err := w.RegisterWorkflow(reg.typ, reg.version, workflow(reg.version), worker.WithMode(reg.mode),
			worker.KeepLastPerKey(reg.keep)); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return w.Run(ctx)
}
