package raftoral

import (
	"fmt"

	"github.com/raftoral/raftoral-go/internal/codes"
)

// Code is a status code of the C ABI (raftoral_status_enum of raftoral.h, the Java enum
// io.raftoral.common.ErrorCode); its numbers are stable across ABI versions. The names and
// sentinel texts are in internal/codes, shared with raftoral/worker; ErrorCodeTablesTest checks
// that every code has its constant and sentinel here and its name there.
type Code int32

// The codes of raftoral.h.
const (
	CodeOK                 Code = 0
	CodeInvalidArgument    Code = 1
	CodeInvalidHandle      Code = 2
	CodeNotInitialized     Code = 3
	CodeShutDown           Code = 4
	CodeBufferTooSmall     Code = 5
	CodeNotFound           Code = 6
	CodeAlreadyExists      Code = 7
	CodeNotRegistered      Code = 8
	CodeAlreadyRegistered  Code = 9
	CodeTimeout            Code = 10
	CodeWorkflowFailed     Code = 11
	CodeWorkflowTerminated Code = 12
	CodePayloadTooLarge    Code = 13
	CodeUnavailable        Code = 14
	CodeNodeClosed         Code = 15
	CodeAborted            Code = 16
	CodeCallbackFailed     Code = 17
	CodeJVM                Code = 18
	CodeInternal           Code = 19
	CodeForked             Code = 20
	CodeNodeRemoved        Code = 21
	CodeCodec              Code = 22
	CodeUnauthenticated    Code = 23
	CodePermissionDenied   Code = 24
)

// Sentinel errors, one per code: every *Error matches the sentinel of its code with errors.Is,
// e.g. errors.Is(err, raftoral.ErrNotFound).
var (
	// ErrInvalidArgument is returned for an invalid argument: a nil function, an empty key, a
	// version out of range, a malformed configuration or query.
	ErrInvalidArgument = sentinels[CodeInvalidArgument]
	// ErrInvalidHandle is returned when a Context is used after its workflow function returned.
	ErrInvalidHandle = sentinels[CodeInvalidHandle]
	// ErrNotInitialized is returned when the library could not be initialised.
	ErrNotInitialized = sentinels[CodeNotInitialized]
	// ErrShutDown is returned by every call after Shutdown.
	ErrShutDown = sentinels[CodeShutDown]
	// ErrBufferTooSmall is internal to the binding (it retries with a larger buffer).
	ErrBufferTooSmall = sentinels[CodeBufferTooSmall]
	// ErrNotFound is returned when no workflow has the given id.
	ErrNotFound = sentinels[CodeNotFound]
	// ErrAlreadyExists is returned when a workflow with this id exists with another type,
	// version or input.
	ErrAlreadyExists = sentinels[CodeAlreadyExists]
	// ErrNotRegistered is returned when no workflow of this type and version is registered.
	ErrNotRegistered = sentinels[CodeNotRegistered]
	// ErrAlreadyRegistered is returned when a type and version is registered twice on a node.
	ErrAlreadyRegistered = sentinels[CodeAlreadyRegistered]
	// ErrTimeout is returned when a deadline passed first; the error of Handle.Result for an
	// expired context matches both ErrTimeout and context.DeadlineExceeded.
	ErrTimeout = sentinels[CodeTimeout]
	// ErrWorkflowFailed is returned by Handle.Result for a FAILED workflow; the *Error's Message
	// is the workflow's error message and its Detail the error's type.
	ErrWorkflowFailed = sentinels[CodeWorkflowFailed]
	// ErrTerminated is returned by Handle.Result for a TERMINATED workflow, and inside a
	// workflow by checkpoints once it has been terminated: the function should return it.
	ErrTerminated = sentinels[CodeWorkflowTerminated]
	// ErrPayloadTooLarge is returned when an input, result or checkpoint value is above the
	// node's payload limit (Config.PayloadLimitBytes).
	ErrPayloadTooLarge = sentinels[CodePayloadTooLarge]
	// ErrUnavailable is returned when the cluster cannot answer now (no leader, no quorum);
	// retrying later may succeed.
	ErrUnavailable = sentinels[CodeUnavailable]
	// ErrNodeClosed is returned when the node is closed, stopping or not opened yet.
	ErrNodeClosed = sentinels[CodeNodeClosed]
	// ErrAborted is returned inside a workflow by a checkpoint when this run is no longer
	// wanted (it ended elsewhere, or the node stops): the function should return it.
	ErrAborted = sentinels[CodeAborted]
	// ErrCallbackFailed matches the library's report that a compute function failed; the
	// binding returns the compute function's own error instead, so it is rarely seen.
	ErrCallbackFailed = sentinels[CodeCallbackFailed]
	// ErrJVM is returned when the JVM could not be found or started.
	ErrJVM = sentinels[CodeJVM]
	// ErrInternal is an unexpected internal error of the engine.
	ErrInternal = sentinels[CodeInternal]
	// ErrForked is the library's answer in a child forked after it started. A Go program cannot
	// fork (syscall.ForkExec execs at once), so a Go host does not see it; it is here for
	// completeness with raftoral.h.
	ErrForked = sentinels[CodeForked]
	// ErrNodeRemoved is returned by a node the cluster removed (unreachable past its failure
	// timeout); it rejoins as a new node by itself unless configured not to.
	ErrNodeRemoved = sentinels[CodeNodeRemoved]
	// ErrCodec is returned when a value could not be encoded or decoded by the node's payload
	// codec.
	ErrCodec = sentinels[CodeCodec]
	// ErrUnauthenticated is returned when the caller presented no credentials, or ones the node
	// does not accept (no token, a wrong or unknown token, no or an untrusted client
	// certificate).
	ErrUnauthenticated = sentinels[CodeUnauthenticated]
	// ErrPermissionDenied is returned when the caller is authenticated but its role does not
	// allow the call (e.g. a reader token terminating a workflow).
	ErrPermissionDenied = sentinels[CodePermissionDenied]
)

// sentinels are the package's sentinel errors by code, from the shared table.
var sentinels = codes.NewSentinels("raftoral")

// String names the code as raftoral.h does, e.g. "RAFTORAL_ERR_NOT_FOUND".
func (c Code) String() string {
	if c == CodeOK {
		return "RAFTORAL_OK"
	}
	if name, ok := codes.Name(int32(c)); ok {
		return "RAFTORAL_ERR_" + name
	}
	return fmt.Sprintf("raftoral status %d", int32(c))
}

// Error is an error reported by the library (or by the binding for the same causes, such as a
// closed Node). Match it with errors.Is against the sentinel of its code (ErrNotFound, ...), or
// get at its fields with errors.As.
type Error struct {
	// Code is the status code.
	Code Code
	// Message says what went wrong; for ErrWorkflowFailed it is the workflow's error message,
	// for ErrTerminated the termination reason.
	Message string
	// Detail is the error type of a failed workflow (ErrWorkflowFailed) or of a failed compute
	// function (ErrCallbackFailed), else empty.
	Detail string
	// WorkflowID is, for an error of Node.Start, the id the start used (generated when no
	// WithWorkflowID was given). A start that failed with ErrTimeout, ErrUnavailable or
	// ErrNodeClosed may have been committed all the same: starting this id again is safe (a
	// start by id is idempotent), or wait for it with Node.Handle(id).Result.
	WorkflowID string

	cause error // wrapped too, e.g. context.DeadlineExceeded for a Result that timed out
}

// Error renders the error as "raftoral: <message> (<CODE>)", with the detail when there is one.
func (e *Error) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("raftoral: %s: %s (%s)", e.Detail, e.Message, e.Code)
	}
	return fmt.Sprintf("raftoral: %s (%s)", e.Message, e.Code)
}

// Is reports whether target is the sentinel error of e's code.
func (e *Error) Is(target error) bool {
	return sentinels.Is(int32(e.Code), target)
}

// Unwrap returns the error's cause, if any.
func (e *Error) Unwrap() error {
	return e.cause
}

func invalidArgument(message string) error {
	return &Error{Code: CodeInvalidArgument, Message: message}
}

func nodeClosed() error {
	return &Error{Code: CodeNodeClosed, Message: "the node is closed"}
}

// PanicError is what a panic inside a workflow or compute function becomes: the workflow (or
// the checkpoint) fails with error type "panic" and the panic's value as message.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the goroutine's stack where it panicked.
	Stack []byte
}

// Error returns "panic: <value>".
func (p *PanicError) Error() string {
	return fmt.Sprintf("panic: %v", p.Value)
}

// Unwrap returns the panic's value when it is an error (e.g. a runtime.Error), else nil.
func (p *PanicError) Unwrap() error {
	if err, ok := p.Value.(error); ok {
		return err
	}
	return nil
}
