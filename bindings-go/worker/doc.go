// Package worker runs Raftoral workflows written in Go in a worker process beside a node,
// over the node's gRPC worker protocol (worker-protocol/src/main/proto/worker.proto), instead of
// embedding the engine: no cgo, no JVM in the process.
//
//	w := worker.New(worker.Options{Target: "127.0.0.1:9001"})
//	err := worker.Register(w, "order", 1, func(ctx *worker.Context, o Order) (Receipt, error) {
//		payment, err := worker.CheckpointCompute(ctx, "charge", func(c context.Context) (string, error) {
//			return charge(c, o) // runs once in the cluster; the committed result is returned
//		})
//		if err != nil {
//			return Receipt{}, err
//		}
//		return Receipt{Payment: payment}, nil
//	})
//	err = w.Run(ctx) // until ctx is cancelled; reconnects by itself
//
// The node keeps each workflow's state and its checkpoint contract (SPEC §3): the worker only
// runs functions and makes their calls on the node, so a worker-hosted workflow is
// indistinguishable from an embedded one to a client.
package worker

//go:generate ./gen.sh
