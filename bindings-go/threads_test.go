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

// A Var updated from eight goroutines at once loses no update: 800 increments end at 800, and
// its committed values are 0, 1, ..., 800 in order.
func TestAVarUpdatedFromEightGoroutinesLosesNoUpdate(t *testing.T) {
	err := RegisterTyped(testNode, "var-goroutines", 1, func(ctx *Context, _ int) (int, error) {
		counter, err := NewVar(ctx, "counter", 0)
		if err != nil {
			return 0, err
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 100; i++ {
					if _, err := counter.Update(func(v int) int { return v + 1 }); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			return 0, err
		}
		return counter.Get(), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := waitCtx(t)
	h, err := StartTyped(ctx, testNode, "var-goroutines", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ResultAs[int](ctx, h)
	if err != nil || got != 800 {
		t.Fatalf("result %d, %v; want 800", got, err)
	}
	info, err := h.Describe()
	if err != nil || info.CheckpointCount != 801 {
		t.Fatalf("checkpoint count %v, %v; want 801", info, err)
	}
}
