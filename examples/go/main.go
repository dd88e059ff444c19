// Command order runs an order workflow on an embedded one-node Raftoral cluster: reserve
// stock, charge the payment, ship — each a CheckpointCompute step, so each side effect runs
// once and its result is committed before the next step starts. With a three-node cluster
// (Config.Members) the workflow would continue on another node if this process died.
//
//	cd examples/go && go run .
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	raftoral "github.com/raftoral/raftoral-go"
)

// Order is the workflow's input.
type Order struct {
	ID       string `json:"id"`
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
	Cents    int    `json:"cents"`
}

// Receipt is the workflow's result: what each step committed.
type Receipt struct {
	OrderID     string `json:"order_id"`
	Reservation string `json:"reservation"`
	Payment     string `json:"payment"`
	Tracking    string `json:"tracking"`
}

// OutOfStockError fails the workflow when the item cannot be reserved.
type OutOfStockError struct{ Item string }

func (e *OutOfStockError) Error() string { return "out of stock: " + e.Item }

// The "external services", standing in for an inventory, a payment provider and a carrier.

func reserveStock(o Order) (string, error) {
	if o.Quantity > 10 {
		return "", &OutOfStockError{Item: o.Item}
	}
	return fmt.Sprintf("res-%s-%d", o.Item, o.Quantity), nil
}

func chargePayment(o Order) (string, error) {
	return fmt.Sprintf("pay-%s-%d", o.ID, o.Cents), nil
}

func ship(o Order, reservation string) (string, error) {
	return "track-" + strings.TrimPrefix(reservation, "res-"), nil
}

// orderWorkflow is the durable part: the steps' results are checkpoints, so a restarted or
// failed-over run continues after the last committed step without charging twice.
func orderWorkflow(ctx *raftoral.Context, o Order) (Receipt, error) {
	reservation, err := raftoral.CheckpointCompute(ctx, "reserve", func() (string, error) { return reserveStock(o) })
	if err != nil {
		return Receipt{}, err
	}
	payment, err := raftoral.CheckpointCompute(ctx, "charge", func() (string, error) { return chargePayment(o) })
	if err != nil {
		return Receipt{}, err
	}
	tracking, err := raftoral.CheckpointCompute(ctx, "ship", func() (string, error) { return ship(o, reservation) })
	if err != nil {
		return Receipt{}, err
	}
	return Receipt{OrderID: o.ID, Reservation: reservation, Payment: payment, Tracking: tracking}, nil
}

func freeAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func run() error {
	addr, err := freeAddress()
	if err != nil {
		return err
	}
	node, err := raftoral.NewNode(raftoral.Config{NodeID: 1, RaftAddress: addr})
	if err != nil {
		return err
	}
	defer node.Close()
	if err := raftoral.RegisterTyped(node, "order", 1, orderWorkflow); err != nil {
		return err
	}
	if err := node.Open(); err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	order := Order{ID: "order-1001", Item: "book", Quantity: 2, Cents: 4200}
	h, err := raftoral.StartTyped(ctx, node, "order", 1, order, raftoral.WithWorkflowID(order.ID))
	if err != nil {
		return err
	}
	receipt, err := raftoral.ResultAs[Receipt](ctx, h)
	if err != nil {
		return err
	}
	info, err := h.Describe()
	if err != nil {
		return err
	}
	fmt.Printf("%s %s after %d checkpoints: reservation %s, payment %s, tracking %s\n",
		receipt.OrderID, info.Status, info.CheckpointCount, receipt.Reservation, receipt.Payment, receipt.Tracking)

	// An order that cannot be served: the workflow is FAILED with the Go error's type.
	big := Order{ID: "order-1002", Item: "piano", Quantity: 50, Cents: 9_900_000}
	h, err = raftoral.StartTyped(ctx, node, "order", 1, big, raftoral.WithWorkflowID(big.ID))
	if err != nil {
		return err
	}
	_, err = h.Result(ctx)
	var failed *raftoral.Error
	if !errors.Is(err, raftoral.ErrWorkflowFailed) || !errors.As(err, &failed) {
		return fmt.Errorf("%s: expected a failed workflow, got %v", big.ID, err)
	}
	fmt.Printf("%s FAILED: %s (%s)\n", big.ID, failed.Message, failed.Detail)
	return nil
}

func main() {
	err := run()
	// Shutdown before exit: the JVM's own shutdown hooks do not run when a Go program exits.
	if serr := raftoral.Shutdown(); err == nil {
		err = serr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "order:", err)
		os.Exit(1)
	}
}
