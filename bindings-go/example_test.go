package raftoral_test

import (
	"context"
	"fmt"
	"net"
	"time"

	raftoral "github.com/raftoral/raftoral-go"
)

// A one-node cluster in memory running a typed workflow with two side effects.
func Example() {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	node, err := raftoral.NewNode(raftoral.Config{NodeID: 1, RaftAddress: addr})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Close()

	type order struct {
		Item  string
		Cents int
	}
	err = raftoral.RegisterTyped(node, "order", 1, func(ctx *raftoral.Context, o order) (string, error) {
		reservation, err := raftoral.CheckpointCompute(ctx, "reserve", func() (string, error) {
			return "res-" + o.Item, nil // runs once in the cluster; its result is committed
		})
		if err != nil {
			return "", err
		}
		payment, err := raftoral.CheckpointCompute(ctx, "charge", func() (int, error) { return o.Cents, nil })
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s paid %d", reservation, payment), nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := node.Open(); err != nil {
		fmt.Println(err)
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := raftoral.StartTyped(ctx, node, "order", 1, order{Item: "book", Cents: 4200}, raftoral.WithWorkflowID("order-7"))
	if err != nil {
		fmt.Println(err)
		return
	}
	receipt, err := raftoral.ResultAs[string](ctx, h)
	fmt.Println(h.ID(), receipt, err)
	// Output: order-7 res-book paid 4200 <nil>
}
