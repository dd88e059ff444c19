package worker

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/raftoral/raftoral-go/internal/typed"
)

// Typed helpers: the same calls with values encoded as JSON (encoding/json), as the embedded
// binding's RegisterTyped, Checkpoint and CheckpointCompute.

// Register registers a workflow whose input I and result O travel as JSON. An input that does
// not decode as I fails the workflow (error type "*json.UnmarshalTypeError" or similar).
func Register[I, O any](w *Worker, name string, version int, fn func(ctx *Context, input I) (O, error), opts ...RegisterOption) error {
	if fn == nil {
		return invalidArgument("the workflow function of %q must not be nil", name)
	}
	return w.RegisterWorkflow(name, version, typed.Func(fn, func(err error) error {
		return &Error{Code: CodeInvalidArgument, Message: "cannot encode the workflow's result as JSON: " + err.Error(), cause: err}
	}), opts...)
}

// Checkpoint is Context.Checkpoint for a value encoded as JSON: it returns the committed value,
// decoded. A value that does not encode is ErrInvalidArgument (nothing is sent).
func Checkpoint[T any](ctx *Context, key string, value T) (T, error) {
	var out T
	raw, err := json.Marshal(value)
	if err != nil {
		return out, &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf("cannot encode the value of key %q as JSON: %v", key, err), cause: err}
	}
	committed, err := ctx.Checkpoint(key, raw)
	if err != nil {
		return out, err
	}
	return decode[T](key, committed)
}

// CheckpointCompute is Context.CheckpointCompute for a value encoded as JSON: fn runs only when
// the node asks for it; the committed value is returned, decoded. An error of fn is returned as
// is; a value of fn that does not encode fails the step with ErrInvalidArgument.
func CheckpointCompute[T any](ctx *Context, key string, fn func(context.Context) (T, error)) (T, error) {
	var out T
	if fn == nil {
		return out, invalidArgument("the compute function of key %q must not be nil", key)
	}
	committed, err := ctx.CheckpointCompute(key, func(c context.Context) ([]byte, error) {
		v, err := fn(c)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf("cannot encode the computed value of key %q as JSON: %v", key, err), cause: err}
		}
		return b, nil
	})
	if err != nil {
		return out, err
	}
	return decode[T](key, committed)
}

func decode[T any](key string, raw []byte) (T, error) {
	var out T
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, &Error{Code: CodeCodec, Message: fmt.Sprintf("cannot decode the committed value of key %q as %T: %v", key, out, err), cause: err}
	}
	return out, nil
}

// Var is a replicated variable of a workflow (SPEC §3): a value kept as the committed values of
// one checkpoint key. NewVar commits its initial value; Set and Update commit the next value and
// return the committed one, under the same contract as Checkpoint; Get is local.
//
// A Var may be used from goroutines the workflow starts: Update reads and writes as one step,
// so concurrent updates are not lost.
type Var[T any] struct {
	v typed.Var[T] // commits with Checkpoint
}

// NewVar creates the variable under key, committing initial as its first value (or, when the
// workflow is replayed, taking the value committed then).
func NewVar[T any](ctx *Context, key string, initial T) (*Var[T], error) {
	v := &Var[T]{}
	if err := v.v.Init(key, initial, func(value T) (T, error) { return Checkpoint(ctx, key, value) }); err != nil {
		return nil, err
	}
	return v, nil
}

// Key is the checkpoint key that holds the variable's values.
func (v *Var[T]) Key() string { return v.v.Key() }

// Get is the current committed value; local, no I/O.
func (v *Var[T]) Get() T { return v.v.Get() }

// Set commits value as the next value and returns the committed one.
func (v *Var[T]) Set(value T) (T, error) { return v.v.Set(value) }

// Update commits fn(Get()) as the next value and returns the committed one.
func (v *Var[T]) Update(fn func(T) T) (T, error) { return v.v.Update(fn) }
