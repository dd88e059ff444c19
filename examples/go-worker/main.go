// Command order-worker runs the order workflow as a Go worker: the same steps as the Java
// example's `order` v1 and examples/python/order_worker.py (total, reserve, charge, ship, a
// replicated stage), registered as type `order-go` v1 with a node that serves workers
// (`raftoral node ... --worker-address 127.0.0.1:9001`). The node keeps the workflow's state
// and its checkpoints; this process only runs the code and may die at any time: its runs go to
// another worker of the type (or to this one, restarted) with the values already committed, and
// no committed step runs again. No JVM, no libraftoral: the worker library speaks gRPC.
//
//	cd examples/go-worker && go run . --target 127.0.0.1:9001
//	raftoral start order-go --version 1 --input '{"orderId":"A-1","customer":"ada","items":[{"sku":"book","quantity":2,"unitPriceCents":1500}]}' --wait
package main

import (
	"context"
	"flag"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/raftoral/raftoral-go/worker"
)

// Item is one line of an order.
type Item struct {
	SKU            string `json:"sku"`
	Quantity       int64  `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

// Order is the workflow's input.
type Order struct {
	OrderID  string `json:"orderId"`
	Customer string `json:"customer"`
	Items    []Item `json:"items"`
}

// Receipt is the workflow's result: what its steps committed.
type Receipt struct {
	OrderID        string `json:"orderId"`
	TotalCents     int64  `json:"totalCents"`
	PaymentID      string `json:"paymentId"`
	TrackingNumber string `json:"trackingNumber"`
	Stage          string `json:"stage"`
}

// EmptyOrderError fails the workflow of an order without items.
type EmptyOrderError struct{ OrderID string }

func (e *EmptyOrderError) Error() string { return fmt.Sprintf("order %s has no items", e.OrderID) }

// order is the workflow: each side effect is a compute step, so it runs once (on the owner's
// worker) and later steps see its committed value; the stage is a replicated variable.
func order(ctx *worker.Context, o Order) (Receipt, error) {
	if len(o.Items) == 0 {
		return Receipt{}, &EmptyOrderError{OrderID: o.OrderID}
	}
	stage, err := worker.NewVar(ctx, "stage", "received")
	if err != nil {
		return Receipt{}, err
	}
	total, err := worker.CheckpointCompute(ctx, "total", func(context.Context) (int64, error) {
		var sum int64
		for _, i := range o.Items {
			sum += i.UnitPriceCents * i.Quantity
		}
		return sum, nil
	})
	if err != nil {
		return Receipt{}, err
	}
	if _, err := worker.CheckpointCompute(ctx, "reservation", func(context.Context) (string, error) {
		return "rsv-" + o.OrderID, nil
	}); err != nil {
		return Receipt{}, err
	}
	if _, err := stage.Set("reserved"); err != nil {
		return Receipt{}, err
	}
	payment, err := worker.CheckpointCompute(ctx, "payment", func(context.Context) (string, error) {
		return fmt.Sprintf("pay-%s-%d", o.Customer, total), nil
	})
	if err != nil {
		return Receipt{}, err
	}
	if _, err := stage.Set("paid"); err != nil {
		return Receipt{}, err
	}
	tracking, err := worker.CheckpointCompute(ctx, "shipment", func(context.Context) (string, error) {
		// CRC-32 (IEEE), as the Python worker's zlib.crc32: the same order ships with the same number.
		return fmt.Sprintf("TRK%d", crc32.ChecksumIEEE([]byte(o.OrderID))), nil
	})
	if err != nil {
		return Receipt{}, err
	}
	if _, err := stage.Set("shipped"); err != nil {
		return Receipt{}, err
	}
	return Receipt{OrderID: o.OrderID, TotalCents: total, PaymentID: payment, TrackingNumber: tracking, Stage: stage.Get()}, nil
}

func main() {
	target := flag.String("target", "127.0.0.1:9001", "the node's worker address (its --worker-address)")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	w := worker.New(worker.Options{Target: *target, WorkerID: "order-go", Logger: logger})
	if err := worker.Register(w, "order-go", 1, order); err != nil {
		logger.Error("cannot register the order workflow", "error", err)
		os.Exit(1)
	}
	// Run reconnects whenever the node goes away, until SIGINT or SIGTERM.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := w.Run(ctx); err != nil {
		logger.Error("the worker stopped", "error", err)
		os.Exit(1)
	}
}
