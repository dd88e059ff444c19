// The seq10 workload as a Go worker (bench/run --workers go): type seq10-worker v1, input n, ten
// sequential compute steps of key "step", step i returning the previous value + i; the result is
// n + 55, as the embedded seq10 of bench/src/.../Workloads.java.
//
//	go run . --target 127.0.0.1:9001
//
// Prints {"event":"registered"} on stdout each time it has registered with its node.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/raftoral/raftoral-go/worker"
	"github.com/raftoral/raftoral-go/worker/workerpb"
)

func seq10(ctx *worker.Context, n int) (int, error) {
	value := n
	for i := 1; i <= 10; i++ {
		previous, step := value, i
		next, err := worker.CheckpointCompute(ctx, "step", func(context.Context) (int, error) { return previous + step, nil })
		if err != nil {
			return 0, err
		}
		value = next
	}
	return value, nil
}

func main() {
	target := flag.String("target", "127.0.0.1:9001", "the node's worker address")
	runs := flag.Int("max-concurrent-runs", 1024, "runs at once")
	flag.Parse()
	w := worker.New(worker.Options{
		Target:            *target,
		WorkerID:          fmt.Sprintf("bench-seq10-go-%d", os.Getpid()),
		MaxConcurrentRuns: *runs,
		MinBackoff:        50 * time.Millisecond,
		MaxBackoff:        time.Second,
		OnRegistered:      func(*workerpb.Registered) { fmt.Println(`{"event":"registered"}`) },
	})
	if err := worker.Register(w, "seq10-worker", 1, seq10); err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := w.Run(ctx); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}
