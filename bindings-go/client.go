package raftoral

/*
#include <stdlib.h>
#include "shims.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"time"
	"unsafe"
)

// Status is the status of a workflow.
type Status string

// The statuses of a workflow.
const (
	StatusRunning    Status = "RUNNING"
	StatusCompleted  Status = "COMPLETED"
	StatusFailed     Status = "FAILED"
	StatusTerminated Status = "TERMINATED"
)

// WorkflowInfo describes a workflow (Node.Describe, Node.List, Node.Terminate).
type WorkflowInfo struct {
	WorkflowID      string     `json:"workflowId"`
	Type            string     `json:"type"`
	Version         int        `json:"version"`
	Status          Status     `json:"status"`
	OwnerNode       uint64     `json:"ownerNode"`      // the node running it as owner
	ExecutionGroup  string     `json:"executionGroup"` // the group whose members run it
	StartedAt       time.Time  `json:"startedAt"`
	EndedAt         *time.Time `json:"endedAt"` // nil while running
	CheckpointCount int64      `json:"checkpointCount"`
	ErrorType       string     `json:"errorType"`    // FAILED: the error's type
	ErrorMessage    string     `json:"errorMessage"` // FAILED: its message; TERMINATED: the reason
}

// StartOption configures Node.Start.
type StartOption func(*startOptions)

type startOptions struct {
	id string
}

// WithWorkflowID gives the workflow an id of the caller's choice (e.g. an order number). A start
// is idempotent by id: starting the same id again with the same type, version and input returns
// the existing workflow; with anything else, an error matching ErrAlreadyExists. Without it, the
// library mints an id naming the least-loaded execution group (g<index>-<uuid>) before the start
// is sent; a failed start's error carries it (WorkflowID), so the start can be retried with it.
func WithWorkflowID(id string) StartOption {
	return func(o *startOptions) { o.id = id }
}

// Start starts a workflow of type typ and version with input and returns once its start is
// committed. ctx is checked before the call; the start itself, once sent, is not interrupted.
// Every *Error it returns names the id it used in WorkflowID: after ErrTimeout, ErrUnavailable
// or ErrNodeClosed the workflow may have started all the same, and starting that id again
// (WithWorkflowID) is safe.
func (n *Node) Start(ctx context.Context, typ string, version int, input []byte, opts ...StartOption) (*Handle, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var o startOptions
	for _, opt := range opts {
		opt(&o)
	}
	v, err := checkVersion(version)
	if err != nil {
		return nil, err
	}
	p, err := n.handle()
	if err != nil {
		return nil, err
	}
	ctyp, err := cstring(typ, "type")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(ctyp))
	// Without an id the library mints one naming the least-loaded execution group, and a failed
	// start names it in the error's detail.
	cid, err := cstringOrNil(o.id, "workflow id")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cid))
	var out C.raftoral_buf_t
	var cerr *C.raftoral_error_t
	status := C.raftoral_workflow_start(p, ctyp, v, bytesPtr(input), C.size_t(len(input)), cid, &out, &cerr)
	runtime.KeepAlive(n)
	if err := takeError(status, cerr); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.WorkflowID = o.id
			if o.id == "" {
				e.WorkflowID = e.Detail
			}
		}
		return nil, err
	}
	return &Handle{node: n, id: takeString(&out)}, nil
}

// Handle returns a handle for the workflow with this id, started anywhere in the cluster. It
// does not check that the workflow exists (Result and Describe do).
func (n *Node) Handle(workflowID string) *Handle {
	return &Handle{node: n, id: workflowID}
}

// Handle is a started workflow, seen through one node.
type Handle struct {
	node *Node
	id   string
}

// ID is the workflow's id.
func (h *Handle) ID() string {
	return h.id
}

// awaitSlice is how long one raftoral_workflow_await may block, so that cancellation of the
// caller's context is noticed within about that time.
const awaitSlice = 200 * time.Millisecond

// Result waits for the workflow to end and returns its result. A FAILED workflow gives an
// *Error matching ErrWorkflowFailed (Message: the workflow's error message, Detail: its error
// type); a TERMINATED one an *Error matching ErrTerminated (Message: the reason). It works
// before, during and after the workflow's run, on any node.
//
// It waits until ctx is done: a passed deadline gives an *Error matching both ErrTimeout and
// context.DeadlineExceeded, a cancellation ctx.Err().
func (h *Handle) Result(ctx context.Context) ([]byte, error) {
	p, err := h.node.handle()
	if err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(h.node)
	cid, err := cstring(h.id, "workflow id")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cid))
	for {
		if err := ctx.Err(); err != nil {
			return nil, contextError(ctx, h.id)
		}
		slice := awaitSlice
		if deadline, ok := ctx.Deadline(); ok {
			slice = min(slice, max(time.Until(deadline), time.Millisecond))
		}
		var out C.raftoral_buf_t
		var cerr *C.raftoral_error_t
		status := C.raftoral_workflow_await(p, cid, C.int64_t(slice.Milliseconds()), &out, &cerr)
		if status == C.RAFTORAL_ERR_TIMEOUT {
			C.raftoral_error_free(cerr)
			continue
		}
		if err := takeError(status, cerr); err != nil {
			return nil, h.node.closedError(err)
		}
		return takeBuf(&out), nil
	}
}

func contextError(ctx context.Context, id string) error {
	if ctx.Err() == context.DeadlineExceeded {
		return &Error{Code: CodeTimeout, Message: fmt.Sprintf("workflow %s did not end before the deadline", id), cause: ctx.Err()}
	}
	return ctx.Err()
}

// Describe describes the workflow (ErrNotFound for an unknown id).
func (h *Handle) Describe() (*WorkflowInfo, error) {
	return h.node.Describe(h.id)
}

// Terminate terminates the workflow (see Node.Terminate).
func (h *Handle) Terminate(reason string) (*WorkflowInfo, error) {
	return h.node.Terminate(h.id, reason)
}

// Describe describes the workflow with this id (ErrNotFound for an unknown id).
func (n *Node) Describe(workflowID string) (*WorkflowInfo, error) {
	p, err := n.handle()
	if err != nil {
		return nil, err
	}
	cid, err := cstring(workflowID, "workflow id")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cid))
	var out C.raftoral_buf_t
	var cerr *C.raftoral_error_t
	status := C.raftoral_workflow_describe(p, cid, &out, &cerr)
	runtime.KeepAlive(n)
	if err := takeError(status, cerr); err != nil {
		return nil, err
	}
	return decodeInfo(takeBuf(&out))
}

// Terminate terminates a running workflow with reason (may be empty) and returns its info
// afterwards: its run sees IsTerminated and its checkpoints fail with ErrTerminated, and
// Result reports ErrTerminated. A finished workflow is left as it is. ErrNotFound for an
// unknown id.
func (n *Node) Terminate(workflowID, reason string) (*WorkflowInfo, error) {
	p, err := n.handle()
	if err != nil {
		return nil, err
	}
	cid, err := cstring(workflowID, "workflow id")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cid))
	creason, err := cstringOrNil(reason, "reason")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(creason))
	var out C.raftoral_buf_t
	var cerr *C.raftoral_error_t
	status := C.raftoral_workflow_terminate(p, cid, creason, &out, &cerr)
	runtime.KeepAlive(n)
	if err := takeError(status, cerr); err != nil {
		return nil, err
	}
	return decodeInfo(takeBuf(&out))
}

func decodeInfo(js []byte) (*WorkflowInfo, error) {
	var info WorkflowInfo
	if err := json.Unmarshal(js, &info); err != nil {
		return nil, &Error{Code: CodeInternal, Message: "cannot decode workflow info: " + err.Error()}
	}
	return &info, nil
}

// ListQuery filters Node.List; the zero value lists the first 100 workflows.
type ListQuery struct {
	Statuses      []Status  // any of these statuses; empty: all
	Type          string    // this type only; empty: all
	Version       int       // with Type: this version only; 0: all
	StartedAfter  time.Time // zero: no lower bound
	StartedBefore time.Time // zero: no upper bound
	Limit         int       // page size, 1..1000; 0: 100
	PageToken     string    // Page.NextPageToken of the previous page
}

// Page is one page of Node.List.
type Page struct {
	Workflows []WorkflowInfo `json:"workflows"`
	// NextPageToken fetches the next page (ListQuery.PageToken); empty on the last page.
	NextPageToken string `json:"nextPageToken"`
}

// List lists the workflows of the whole cluster matching q, oldest first, one page at a time.
func (n *Node) List(q ListQuery) (*Page, error) {
	m := map[string]any{}
	if len(q.Statuses) > 0 {
		m["statuses"] = q.Statuses
	}
	if q.Type != "" {
		m["type"] = q.Type
	}
	if q.Version != 0 {
		m["version"] = q.Version
	}
	if !q.StartedAfter.IsZero() {
		m["started_after"] = q.StartedAfter.UTC().Format(time.RFC3339Nano)
	}
	if !q.StartedBefore.IsZero() {
		m["started_before"] = q.StartedBefore.UTC().Format(time.RFC3339Nano)
	}
	if q.Limit != 0 {
		m["limit"] = q.Limit
	}
	if q.PageToken != "" {
		m["page_token"] = q.PageToken
	}
	js, err := json.Marshal(m)
	if err != nil {
		return nil, invalidArgument(err.Error())
	}
	p, err := n.handle()
	if err != nil {
		return nil, err
	}
	cq, err := cstring(string(js), "query")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cq))
	var out C.raftoral_buf_t
	var cerr *C.raftoral_error_t
	status := C.raftoral_workflow_list(p, cq, &out, &cerr)
	runtime.KeepAlive(n)
	if err := takeError(status, cerr); err != nil {
		return nil, err
	}
	var page Page
	if err := json.Unmarshal(takeBuf(&out), &page); err != nil {
		return nil, &Error{Code: CodeInternal, Message: "cannot decode workflow list: " + err.Error()}
	}
	return &page, nil
}
