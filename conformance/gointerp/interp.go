// Package gointerp is the Go instruction-set interpreter of the conformance suite
// (conformance/README.md), shared by both Go entry points: conformance/go (a node embedded
// through the cgo binding raftoral-go) and conformance/go-worker (a worker over the cgo-free
// raftoral-go/worker). It is written against Context, which each entry point implements over its
// binding's context, so it imports neither binding (go-worker builds with CGO_ENABLED=0).
package gointerp

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// waitTerminated is how long wait_terminated waits at most before it fails the workflow.
const waitTerminated = 120 * time.Second

// Context is what the interpreter needs of a run: the binding's workflow context, and how the
// binding's errors read.
type Context interface {
	WorkflowID() string
	IsTerminated() bool
	Checkpoint(key string, value []byte) ([]byte, error)
	// CheckpointCompute commits fn's value at key unless one is committed (fn runs where the
	// binding runs compute steps) and returns the committed value.
	CheckpointCompute(key string, fn func() ([]byte, error)) ([]byte, error)
	// NewVar creates the replicated variable key with its initial value.
	NewVar(key string, initial any) (Var, error)
	// Canonical names an error of the binding as the suite does: the C ABI's status name without
	// its prefix ("INTERNAL" for an error that is not the binding's).
	Canonical(err error) string
	// Stopping reports whether err means "return from the workflow function now" (terminated,
	// aborted, cancelled).
	Stopping(err error) bool
}

// Var is a replicated variable of the binding (its Var[any]).
type Var interface {
	Get() any
	Set(value any) (any, error)
	Update(fn func(any) any) (any, error)
}

var (
	// NodeLabel is this node's label ($CONFORMANCE_NODE), the value of {"$":"node"}.
	NodeLabel = os.Getenv("CONFORMANCE_NODE")
	effects   *os.File
	outMu     sync.Mutex
	out       = bufio.NewWriter(os.Stdout)
)

// OpenLog opens the side-effect log $CONFORMANCE_LOG, where the interpreter's effects go; call
// it once before the first run.
func OpenLog() error {
	var err error
	effects, err = os.OpenFile(os.Getenv("CONFORMANCE_LOG"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	return err
}

// Send writes v as one JSON line on stdout (the processes' channel to the driver); safe from
// any goroutine.
func Send(v any) {
	line, err := json.Marshal(v)
	if err != nil {
		line, _ = json.Marshal(map[string]any{"event": "error", "message": err.Error()})
	}
	outMu.Lock()
	defer outMu.Unlock()
	out.Write(line)
	out.WriteByte('\n')
	out.Flush()
}

func logEvent(wf, ev, key string, seq int64, attempt int, value any, hasValue bool) {
	line := map[string]any{"wf": wf, "node": NodeLabel, "ev": ev, "key": key, "seq": seq, "attempt": attempt}
	if hasValue {
		line["value"] = value
	}
	b, _ := json.Marshal(line)
	// One write(2) on an O_APPEND file: lines of concurrent processes never interleave.
	effects.Write(append(b, '\n'))
}

// ConformanceError is what the fail instruction returns; a failed workflow records its type
// ("*gointerp.ConformanceError"), whose simple name the suite compares.
type ConformanceError struct{ Message string }

func (e *ConformanceError) Error() string { return e.Message }

func fail(format string, args ...any) error {
	return &ConformanceError{Message: fmt.Sprintf(format, args...)}
}

// runState is what the goroutines of one run share: the run's results, under mu.
type runState struct {
	mu      sync.Mutex
	values  map[string][]any
	errs    []string
	seq     map[string]int64
	vars    map[string]Var
	varKeys []string // in creation order
}

// interpreter is one goroutine of the interpreter: the run's, or a branch of parallel, with
// its own loop indices.
type interpreter struct {
	ctx     Context
	version int
	run     *runState
	loops   []int
}

// Decode decodes JSON with numbers as json.Number.
func Decode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// Run runs the program of input (the workflow's input: {"program":[...]}) as version of the
// conformance workflows and returns the workflow's result.
func Run(ctx Context, version int, input []byte) ([]byte, error) {
	in, err := Decode(input)
	if err != nil {
		return nil, fail("the input is not JSON: %v", err)
	}
	program, _ := in.(map[string]any)["program"].([]any)
	if program == nil {
		return nil, fail("the input has no program array")
	}
	run := &runState{values: map[string][]any{}, seq: map[string]int64{}, vars: map[string]Var{}}
	it := &interpreter{ctx: ctx, version: version, run: run}
	if err := it.block(program); err != nil {
		return nil, err
	}
	result := map[string]any{"version": version, "values": run.values}
	if len(run.vars) > 0 {
		vars := map[string]any{}
		for _, k := range run.varKeys {
			vars[k] = run.vars[k].Get()
		}
		result["vars"] = vars
	}
	if len(run.errs) > 0 {
		result["errors"] = run.errs
	}
	return json.Marshal(result)
}

func (it *interpreter) block(ops []any) error {
	for _, o := range ops {
		op, _ := o.(map[string]any)
		if err := it.step(op); err != nil {
			return err
		}
	}
	return nil
}

func (it *interpreter) step(op map[string]any) error {
	name, _ := op["op"].(string)
	switch name {
	case "checkpoint":
		key := it.opKey(op)
		n := it.position(key)
		value, err := json.Marshal(it.eval(op["value"]))
		if err != nil {
			return err
		}
		committed, err := it.ctx.Checkpoint(key, value)
		if err != nil {
			return err
		}
		v, err := Decode(committed)
		if err != nil {
			return fail("a committed value is not JSON: %v", err)
		}
		it.wrote(key, v)
		if observe, _ := op["observe"].(bool); observe {
			logEvent(it.ctx.WorkflowID(), "observe", key, n, 0, v, true)
		}
		return nil
	case "compute":
		return it.compute(op)
	case "var":
		key := it.opKey(op)
		v, err := it.ctx.NewVar(key, it.eval(op["initial"]))
		if err != nil {
			return err
		}
		it.run.mu.Lock()
		if _, seen := it.run.vars[key]; !seen {
			it.run.varKeys = append(it.run.varKeys, key)
		}
		it.run.vars[key] = v
		it.run.mu.Unlock()
		it.wrote(key, v.Get())
		return nil
	case "var_set", "var_add":
		key := it.opKey(op)
		it.run.mu.Lock()
		v := it.run.vars[key]
		it.run.mu.Unlock()
		if v == nil {
			return fail("no variable %q", key)
		}
		var committed any
		var err error
		if name == "var_set" {
			committed, err = v.Set(it.eval(op["value"]))
		} else {
			delta := numberOf(op["delta"])
			committed, err = v.Update(func(current any) any { return numberOf(current) + delta })
		}
		if err != nil {
			return err
		}
		it.wrote(key, committed)
		return nil
	case "fail":
		message, _ := op["message"].(string)
		return &ConformanceError{Message: message}
	case "panic":
		var m map[string]int
		m["x"] = 1 // a nil map write: Go's unplanned fault (a panic)
		return nil
	case "wait_terminated":
		deadline := time.Now().Add(waitTerminated)
		for !it.ctx.IsTerminated() {
			if time.Now().After(deadline) {
				return fail("not terminated within %v", waitTerminated)
			}
			time.Sleep(20 * time.Millisecond)
		}
		logEvent(it.ctx.WorkflowID(), "terminated_seen", "", 0, 0, nil, false)
		return nil
	case "loop":
		times := IntOf(op["times"])
		body, _ := op["body"].([]any)
		for i := 0; i < times; i++ {
			it.loops = append(it.loops, i)
			err := it.block(body)
			it.loops = it.loops[:len(it.loops)-1]
			if err != nil {
				return err
			}
		}
		return nil
	case "parallel":
		branches, _ := op["branches"].([]any)
		return it.parallel(branches)
	case "sleep":
		time.Sleep(time.Duration(IntOf(op["ms"])) * time.Millisecond)
		return nil
	case "try":
		body, _ := op["body"].([]any)
		err := it.block(body)
		var ce *ConformanceError
		switch {
		case err == nil:
		case it.ctx.Stopping(err), errors.As(err, &ce):
			return err // the function must unwind; the instruction set's own failures are not caught
		default:
			it.run.mu.Lock()
			it.run.errs = append(it.run.errs, it.ctx.Canonical(err))
			it.run.mu.Unlock()
		}
		return nil
	default:
		return fail("unknown op %q", name)
	}
}

// parallel runs each branch in a goroutine of its own, all at once, and returns when every one
// has ended; then the first failed branch (in branch order) fails the instruction with its error.
// A branch's panic is raised again in the function's goroutine, where the binding turns it into
// the workflow's failure (in the branch's goroutine it would end the process).
func (it *interpreter) parallel(branches []any) error {
	errs := make([]error, len(branches))
	panics := make([]any, len(branches))
	var wg sync.WaitGroup
	for i, b := range branches {
		ops, _ := b.([]any)
		branch := &interpreter{ctx: it.ctx, version: it.version, run: it.run, loops: append([]int(nil), it.loops...)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			errs[i] = branch.block(ops)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if panics[i] != nil {
			panic(panics[i])
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (it *interpreter) compute(op map[string]any) error {
	key := it.opKey(op)
	n := it.position(key)
	failAttempts := IntOf(op["fail_attempts"])
	failAlways, _ := op["fail_always"].(bool)
	sleepMs := IntOf(op["sleep_ms"])
	wf := it.ctx.WorkflowID()
	attempt := 0
	effect := func() ([]byte, error) {
		attempt++
		logEvent(wf, "begin", key, n, attempt, nil, false)
		if sleepMs > 0 {
			time.Sleep(time.Duration(sleepMs) * time.Millisecond)
		}
		if failAlways || attempt <= failAttempts {
			logEvent(wf, "fail", key, n, attempt, nil, false)
			return nil, fail("compute %s failed (attempt %d)", key, attempt)
		}
		value := it.eval(op["value"])
		logEvent(wf, "end", key, n, attempt, value, true)
		return json.Marshal(value)
	}
	for {
		committed, err := it.ctx.CheckpointCompute(key, effect)
		var ce *ConformanceError
		if errors.As(err, &ce) && !failAlways && attempt <= failAttempts {
			continue // the failed attempt consumed no position: retry the same key (SPEC §3)
		}
		if err != nil {
			return err
		}
		v, err := Decode(committed)
		if err != nil {
			return fail("a committed value is not JSON: %v", err)
		}
		it.wrote(key, v)
		return nil
	}
}

func (it *interpreter) position(key string) int64 {
	it.run.mu.Lock()
	defer it.run.mu.Unlock()
	return it.run.seq[key]
}

func (it *interpreter) wrote(key string, committed any) {
	name := key
	if !utf8.ValidString(key) {
		name = "hex:" + hex.EncodeToString([]byte(key))
	}
	it.run.mu.Lock()
	defer it.run.mu.Unlock()
	it.run.seq[key]++
	it.run.values[name] = append(it.run.values[name], committed)
}

// opKey is the op's key; "{i}" in it stands for the innermost loop's index.
func (it *interpreter) opKey(op map[string]any) string {
	if h, ok := op["key_hex"].(string); ok {
		b, _ := hex.DecodeString(h)
		return string(b) // Go strings hold any bytes: the invalid UTF-8 goes to the API as is
	}
	k, _ := op["key"].(string)
	index := 0
	if len(it.loops) > 0 {
		index = it.loops[len(it.loops)-1]
	}
	return strings.ReplaceAll(k, "{i}", strconv.Itoa(index))
}

func (it *interpreter) eval(e any) any {
	switch v := e.(type) {
	case map[string]any:
		if what, ok := v["$"].(string); ok {
			switch what {
			case "i":
				if len(it.loops) == 0 {
					return 0
				}
				return it.loops[len(it.loops)-1]
			case "node":
				return NodeLabel
			case "pad":
				return strings.Repeat("x", IntOf(v["n"]))
			}
			return nil
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = it.eval(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = it.eval(x)
		}
		return out
	default:
		return v
	}
}

// numberOf is v as a float64 (JSON numbers decode to json.Number or float64).
func numberOf(v any) float64 {
	switch n := v.(type) {
	case json.Number:
		f, _ := n.Float64()
		return f
	case float64:
		return n
	case int:
		return float64(n)
	}
	return 0
}

// IntOf is v as an int (0 when v is no number).
func IntOf(v any) int {
	switch n := v.(type) {
	case json.Number:
		i, _ := strconv.Atoi(n.String())
		return i
	case float64:
		return int(n)
	case int:
		return n
	}
	return 0
}
