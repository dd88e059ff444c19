package raftoral

/*
#include <stdlib.h>
#include "shims.h"
*/
import "C"

import (
	"errors"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// Context is what a running workflow uses to checkpoint. It is valid only while its workflow
// function runs: afterwards every method returns an error matching ErrInvalidHandle (or false).
// Its methods may be called from goroutines the workflow starts, as long as the workflow
// function has not returned: calls are serialized, so the n-th write of a key is the n-th call
// that got its turn on this node (another member may pair its goroutines' writes of one key
// differently: give each goroutine its own keys when that matters). A CheckpointCompute
// function may not use the Context, nor wait for a goroutine that does.
//
// Checkpoint contract: per key, the committed values form one ordered sequence; the n-th write
// of a key in a run returns the n-th committed value of that key, on every member.
type Context struct {
	mu  sync.Mutex
	ptr *C.raftoral_ctx_t // nil once the callback has returned
	id  string
}

func newContext(ptr *C.raftoral_ctx_t) *Context {
	c := &Context{ptr: ptr}
	c.id = c.fetchWorkflowID()
	return c
}

func (c *Context) invalidate() {
	c.mu.Lock()
	c.ptr = nil
	c.mu.Unlock()
}

func (c *Context) handle() (*C.raftoral_ctx_t, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr == nil {
		return nil, &Error{Code: CodeInvalidHandle, Message: "the workflow context is no longer valid: its workflow function returned"}
	}
	return c.ptr, nil
}

// WorkflowID is the id of the running workflow.
func (c *Context) WorkflowID() string {
	return c.id
}

func (c *Context) fetchWorkflowID() string {
	var buf [128]byte
	var length C.size_t
	var cerr *C.raftoral_error_t
	status := C.raftoral_ctx_workflow_id(c.ptr, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), &length, &cerr)
	if status == C.RAFTORAL_ERR_BUFFER_TOO_SMALL {
		C.raftoral_error_free(cerr)
		big := make([]byte, int(length)+1)
		cerr = nil
		status = C.raftoral_ctx_workflow_id(c.ptr, (*C.char)(unsafe.Pointer(&big[0])), C.size_t(len(big)), &length, &cerr)
		if takeError(status, cerr) != nil {
			return ""
		}
		return string(big[:length])
	}
	if takeError(status, cerr) != nil {
		return ""
	}
	return string(buf[:length])
}

// Checkpoint records value as the next value of key and returns the committed value. Every
// member running the workflow computes a value; only the owner's is committed, so a member
// replaying the workflow gets the owner's value. The key must not be empty.
//
// It returns an error matching ErrTerminated once the workflow is terminated, and ErrAborted
// when this run is no longer wanted: return from the workflow function then.
func (c *Context) Checkpoint(key string, value []byte) ([]byte, error) {
	p, err := c.handle()
	if err != nil {
		return nil, err
	}
	ckey, err := cstring(key, "key")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(ckey))
	var out C.raftoral_buf_t
	var cerr *C.raftoral_error_t
	if err := takeError(C.raftoral_ctx_checkpoint(p, ckey, bytesPtr(value), C.size_t(len(value)), &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return takeBuf(&out), nil
}

// CheckpointCompute runs fn only on the owner, and only when the next value of key is not
// committed yet, records what it returns and returns the committed value. Without failures fn
// runs once in the whole cluster; around a crash of the owner it may run again only if its
// value was never committed. Put side effects (payments, e-mails) here.
//
// When fn returns an error (or panics, as a *PanicError), nothing is committed and that same
// error is returned, so errors.Is and errors.As work on it; the position stays free, so a
// retry with the same key commits there. Errors matching ErrTerminated and ErrAborted mean:
// return from the workflow function.
func (c *Context) CheckpointCompute(key string, fn func() ([]byte, error)) ([]byte, error) {
	if fn == nil {
		return nil, invalidArgument("fn must not be nil")
	}
	p, err := c.handle()
	if err != nil {
		return nil, err
	}
	ckey, err := cstring(key, "key")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(ckey))
	call := &computeCall{fn: fn}
	h := cgo.NewHandle(call)
	defer h.Delete()
	var out C.raftoral_buf_t
	var cerr *C.raftoral_error_t
	err = takeError(C.raftoral_go_checkpoint_compute(p, ckey, C.uintptr_t(h), &out, &cerr), cerr)
	if err != nil {
		if e, ok := err.(*Error); ok && e.Code == CodeCallbackFailed && call.err != nil {
			return nil, call.err
		}
		return nil, err
	}
	return takeBuf(&out), nil
}

// IsTerminated reports whether the workflow has been terminated (Node.Terminate); a workflow
// that waits for something outside checkpoints should poll it, and return when it is true.
// It is also true once this run is no longer wanted (its node is closing: Node.Close waits for
// the function to return), and false once the context is no longer valid.
func (c *Context) IsTerminated() bool {
	terminated, err := c.flag(func(p *C.raftoral_ctx_t, out *C.int32_t, cerr **C.raftoral_error_t) C.raftoral_status_t {
		return C.raftoral_ctx_is_terminated(p, out, cerr)
	})
	return terminated || errors.Is(err, ErrAborted)
}

// IsOwner reports whether this node owns the workflow right now. False once the context is no
// longer valid or the node is closing.
func (c *Context) IsOwner() bool {
	owner, _ := c.flag(func(p *C.raftoral_ctx_t, out *C.int32_t, cerr **C.raftoral_error_t) C.raftoral_status_t {
		return C.raftoral_ctx_is_owner(p, out, cerr)
	})
	return owner
}

func (c *Context) flag(call func(*C.raftoral_ctx_t, *C.int32_t, **C.raftoral_error_t) C.raftoral_status_t) (bool, error) {
	p, err := c.handle()
	if err != nil {
		return false, err
	}
	var out C.int32_t
	var cerr *C.raftoral_error_t
	if err := takeError(call(p, &out, &cerr), cerr); err != nil {
		return false, err
	}
	return out != 0, nil
}
