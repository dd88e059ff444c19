// Package typed holds the JSON-typed helpers that the embedded binding (raftoral) and the worker
// library (raftoral/worker) share; each package wraps them in its own exported API and errors.
package typed

import (
	"encoding/json"
	"sync"
)

// Func adapts a workflow function of input I and result O to one of bytes: the input is decoded
// from JSON (an error fails the workflow as is), the result encoded; encodeErr, when not nil,
// turns an error encoding the result into the package's own error.
func Func[C, I, O any](fn func(ctx C, input I) (O, error), encodeErr func(error) error) func(C, []byte) ([]byte, error) {
	return func(ctx C, raw []byte) ([]byte, error) {
		var in I
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, err
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(out)
		if err != nil && encodeErr != nil {
			return nil, encodeErr(err)
		}
		return b, err
	}
}

// Var is a replicated variable (SPEC §3) over a commit function: the package's typed Checkpoint
// of the variable's key. Set and Update commit under the lock, so concurrent updates are not lost.
type Var[T any] struct {
	key     string
	commit  func(T) (T, error)
	mu      sync.Mutex
	current T
}

// Init commits initial under key (or takes the value committed then, on replay) as the first
// value of v, a new Var; v is kept by value in the packages' Var so that it is not copied.
func (v *Var[T]) Init(key string, initial T, commit func(T) (T, error)) error {
	first, err := commit(initial)
	if err != nil {
		return err
	}
	v.key, v.commit, v.current = key, commit, first
	return nil
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
	committed, err := v.commit(value)
	if err != nil {
		return committed, err
	}
	v.current = committed
	return committed, nil
}
