package raftoral

import (
	"fmt"
	"sync"
	"testing"
)

// A Context may be called from goroutines the workflow starts: eight goroutines, each writing
// its own key 300 times and 300 keys of its own (4,800 checkpoints), commit every write once and
// get each of their own values back in order.
func TestAContextUsedFromEightGoroutinesCommitsEveryWriteOnce(t *testing.T) {
	const goroutines, writes = 8, 300
	err := testNode.RegisterWorkflow("many-goroutines", 1, func(ctx *Context, _ []byte) ([]byte, error) {
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < writes; i++ {
					want := fmt.Sprintf("%d#%d", g, i)
					got, err := ctx.Checkpoint(fmt.Sprintf("own-%d", g), []byte(want))
					if err == nil && string(got) != want {
						err = fmt.Errorf("own-%d write %d returned %q", g, i, got)
					}
					if err == nil {
						_, err = ctx.Checkpoint(fmt.Sprintf("unique-%d-%d", g, i), []byte(want))
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}(g)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			return nil, err
		}
		return []byte("done"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := waitCtx(t)
	h, err := testNode.Start(ctx, "many-goroutines", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Result(ctx)
	if err != nil || string(out) != "done" {
		t.Fatalf("result %q, %v", out, err)
	}
	info, err := h.Describe()
	if err != nil {
		t.Fatal(err)
	}
	if info.CheckpointCount != goroutines*writes*2 {
		t.Fatalf("checkpoint count %d, want %d", info.CheckpointCount, goroutines*writes*2)
	}
}
