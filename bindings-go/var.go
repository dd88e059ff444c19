package raftoral

import "github.com/raftoral/raftoral-go/internal/typed"

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
