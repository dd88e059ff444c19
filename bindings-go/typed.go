package raftoral

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/raftoral/raftoral-go/internal/typed"
)

// Typed helpers: the same calls with values encoded as JSON (encoding/json), so workflows,
// inputs, results and checkpoints are Go types rather than bytes.

// RegisterTyped registers a workflow whose input I and result O travel as JSON. An input that
// does not decode as I fails the workflow (error type "*json.UnmarshalTypeError" or similar).
func RegisterTyped[I, O any](n *Node, typ string, version int, fn func(ctx *Context, input I) (O, error), opts ...RegisterOption) error {
	if fn == nil {
		return invalidArgument("fn must not be nil")
	}
	return n.RegisterWorkflow(typ, version, typed.Func(fn, nil), opts...)
}

// StartTyped starts a workflow with input encoded as JSON (see Node.Start).
func StartTyped[I any](ctx context.Context, n *Node, typ string, version int, input I, opts ...StartOption) (*Handle, error) {
	raw, err := json.Marshal(input)
	if err != nil {
		return nil, invalidArgument("cannot encode the input: " + err.Error())
	}
	return n.Start(ctx, typ, version, raw, opts...)
}

// ResultAs waits for the workflow's result (see Handle.Result) and decodes it as O.
func ResultAs[O any](ctx context.Context, h *Handle) (O, error) {
	var out O
	raw, err := h.Result(ctx)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("raftoral: cannot decode the result of %s: %w", h.ID(), err)
	}
	return out, nil
}

// Checkpoint is Context.Checkpoint for a value encoded as JSON: it returns the committed value,
// decoded.
func Checkpoint[T any](ctx *Context, key string, value T) (T, error) {
	var out T
	raw, err := json.Marshal(value)
	if err != nil {
		return out, invalidArgument("cannot encode the checkpoint value: " + err.Error())
	}
	committed, err := ctx.Checkpoint(key, raw)
	if err != nil {
		return out, err
	}
	err = json.Unmarshal(committed, &out)
	return out, err
}

// CheckpointCompute is Context.CheckpointCompute for a value encoded as JSON: fn runs only on
// the owner and only when the value is not committed yet; the committed value is returned,
// decoded. An error of fn is returned as is.
func CheckpointCompute[T any](ctx *Context, key string, fn func() (T, error)) (T, error) {
	var out T
	if fn == nil {
		return out, invalidArgument("fn must not be nil")
	}
	committed, err := ctx.CheckpointCompute(key, func() ([]byte, error) {
		v, err := fn()
		if err != nil {
			return nil, err
		}
		return json.Marshal(v)
	})
	if err != nil {
		return out, err
	}
	err = json.Unmarshal(committed, &out)
	return out, err
}
