package raftoral

import "sync"

// Var is a replicated variable of a workflow (SPEC §3): a value kept as the committed values of
// one checkpoint key. NewVar commits its initial value; Set and Update commit the next value and
// return the committed one, under the same contract as Checkpoint; Get is local.
//
// A Var may be used from goroutines the workflow starts: Update reads and writes as one step,
// so concurrent updates are not lost.
type Var[T any] struct {
	ctx     *Context
	key     string
	mu      sync.Mutex
	current T
}

// NewVar creates the variable under key, committing initial as its first value (or, when the
// workflow is replayed, taking the value committed then).
func NewVar[T any](ctx *Context, key string, initial T) (*Var[T], error) {
	first, err := Checkpoint(ctx, key, initial)
	if err != nil {
		return nil, err
	}
	return &Var[T]{ctx: ctx, key: key, current: first}, nil
}

// Key is the checkpoint key that holds the variable's values.
func (v *Var[T]) Key() string { return v.key }

// Get is the current committed value; local, no I/O.
func (v *Var[T]) Get() T {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.current
}

// Set commits value as the next value and returns the committed one.
func (v *Var[T]) Set(value T) (T, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.set(value)
}

// Update commits fn(Get()) as the next value and returns the committed one.
func (v *Var[T]) Update(fn func(T) T) (T, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.set(fn(v.current))
}

func (v *Var[T]) set(value T) (T, error) {
	committed, err := Checkpoint(v.ctx, v.key, value)
	if err != nil {
		return committed, err
	}
	v.current = committed
	return committed, nil
}
