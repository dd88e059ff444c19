package raftoral

// The Go ends of the C trampolines of shims.c. They are called on the engine's threads (JVM
// platform threads, unknown to the Go runtime until cgo adopts them). A panic must never
// unwind into C, so each one recovers.

/*
#include "shims.h"
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
	"runtime/debug"
	"unsafe"
)

//export raftoralGoRunWorkflow
func raftoralGoRunWorkflow(env C.uintptr_t, ctx *C.raftoral_ctx_t, input *C.uint8_t, inputLen C.size_t, output *C.raftoral_output_t) {
	defer recoverInto(output) // the user's panics are caught in runWorkflow; this is for the binding's own
	reg := cgo.Handle(env).Value().(*registration)
	c := newContext(ctx)
	defer c.invalidate()
	// The input is borrowed for the call only; the workflow may keep its copy.
	in := make([]byte, int(inputLen))
	if inputLen > 0 {
		copy(in, unsafe.Slice((*byte)(unsafe.Pointer(input)), int(inputLen)))
	}
	result, err := runWorkflow(reg.fn, c, in)
	if err != nil {
		failOutput(output, err)
		return
	}
	var cerr *C.raftoral_error_t
	if err := takeError(C.raftoral_output_set(output, bytesPtr(result), C.size_t(len(result)), &cerr), cerr); err != nil {
		// E.g. a result above the payload limit: the workflow fails with that error.
		failOutput(output, err)
	}
}

// runWorkflow calls fn, turning a panic into a *PanicError.
func runWorkflow(fn WorkflowFunc, c *Context, in []byte) (result []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return fn(c, in)
}

// computeCall is the per-call state of one CheckpointCompute, reachable from its cgo.Handle.
type computeCall struct {
	fn  func() ([]byte, error)
	err error // the compute function's own error (or panic), returned to the caller as is
}

//export raftoralGoCompute
func raftoralGoCompute(env C.uintptr_t, output *C.raftoral_output_t) {
	defer recoverInto(output)
	call := cgo.Handle(env).Value().(*computeCall)
	value, err := runCompute(call.fn)
	if err == nil {
		var cerr *C.raftoral_error_t
		err = takeError(C.raftoral_output_set(output, bytesPtr(value), C.size_t(len(value)), &cerr), cerr)
	}
	if err != nil {
		call.err = err
		failOutput(output, err)
	}
}

func runCompute(fn func() ([]byte, error)) (value []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			value, err = nil, &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return fn()
}

//export raftoralGoFinalize
func raftoralGoFinalize(env C.uintptr_t) {
	defer func() { _ = recover() }() // an invalid handle: nothing to release, and C must not unwind
	cgo.Handle(env).Delete()
	liveRegistrations.Add(-1)
}

// recoverInto turns a panic of the binding itself (e.g. an invalid cgo.Handle) into a failed
// outcome instead of letting it unwind into the engine, which would crash the process.
func recoverInto(output *C.raftoral_output_t) {
	if r := recover(); r != nil {
		failOutput(output, &PanicError{Value: r, Stack: debug.Stack()})
	}
}

// failOutput records a failure as the callback's outcome. It cannot fail for a valid output;
// for an invalid one there is nobody left to tell.
func failOutput(output *C.raftoral_output_t, err error) {
	typ, message := errorType(err), err.Error()
	if p, ok := err.(*PanicError); ok {
		message = fmt.Sprint(p.Value)
	}
	ctyp := C.CString(typ)
	defer C.free(unsafe.Pointer(ctyp))
	cmsg := C.CString(message)
	defer C.free(unsafe.Pointer(cmsg))
	var cerr *C.raftoral_error_t
	_ = takeError(C.raftoral_output_fail(output, ctyp, cmsg, &cerr), cerr)
}

// errorType is the error type recorded for a failed workflow or compute function: "panic" for
// a panic, else the error's dynamic Go type (e.g. "*main.OutOfStock").
func errorType(err error) string {
	if _, ok := err.(*PanicError); ok {
		return "panic"
	}
	return fmt.Sprintf("%T", err)
}
