package worker

import (
	"errors"
	"fmt"
	"strings"

	"github.com/raftoral/raftoral-go/internal/codes"
	"github.com/raftoral/raftoral-go/worker/workerpb"
)

// Code is an error code of the ErrorCode table of client_api.proto (the Java enum
// io.raftoral.common.ErrorCode); the numbers are those of the embedded binding's raftoral.Code.
type Code int32

// The codes. Those the worker protocol uses: CodeInvalidArgument (a bad key, a wrong seq),
// CodePayloadTooLarge, CodeWorkflowFailed (a compute step's error), and the library's own
// CodeWorkflowTerminated and CodeAborted for a cancelled run.
const (
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

// String names the code as client_api.proto does, e.g. "ERR_PAYLOAD_TOO_LARGE".
func (c Code) String() string {
	if name, ok := workerpb.ErrorCode_name[int32(c)]; ok && c != 0 {
		return name
	}
	return fmt.Sprintf("error code %d", int32(c))
}

// Sentinel errors: every *Error matches the sentinel of its code with errors.Is.
var (
	ErrInvalidArgument   = sentinels[CodeInvalidArgument]
	ErrInvalidHandle     = sentinels[CodeInvalidHandle]
	ErrNotInitialized    = sentinels[CodeNotInitialized]
	ErrShutDown          = sentinels[CodeShutDown]
	ErrBufferTooSmall    = sentinels[CodeBufferTooSmall]
	ErrNotFound          = sentinels[CodeNotFound]
	ErrAlreadyExists     = sentinels[CodeAlreadyExists]
	ErrNotRegistered     = sentinels[CodeNotRegistered]
	ErrAlreadyRegistered = sentinels[CodeAlreadyRegistered]
	ErrTimeout           = sentinels[CodeTimeout]
	ErrWorkflowFailed    = sentinels[CodeWorkflowFailed]
	ErrTerminated        = sentinels[CodeWorkflowTerminated]
	ErrPayloadTooLarge   = sentinels[CodePayloadTooLarge]
	ErrUnavailable       = sentinels[CodeUnavailable]
	ErrNodeClosed        = sentinels[CodeNodeClosed]
	ErrAborted           = sentinels[CodeAborted]
	ErrCallbackFailed    = sentinels[CodeCallbackFailed]
	ErrJVM               = sentinels[CodeJVM]
	ErrInternal          = sentinels[CodeInternal]
	ErrForked            = sentinels[CodeForked]
	ErrNodeRemoved       = sentinels[CodeNodeRemoved]
	ErrCodec             = sentinels[CodeCodec]
	ErrUnauthenticated   = sentinels[CodeUnauthenticated]
	ErrPermissionDenied  = sentinels[CodePermissionDenied]

	// ErrRunCancelled matches the error of every Context call of a run that the node cancelled
	// (Cancel: terminated, ended elsewhere, ownership lost, node stopping), whose stream to the
	// node was lost, or whose worker is stopping. The function should return: nothing it does
	// for this run reaches the node any more. Such an error also matches ErrTerminated (a
	// client terminated the workflow) or ErrAborted (any other reason).
	ErrRunCancelled = errors.New("raftoral worker: run cancelled")
)

// sentinels are the package's sentinel errors by code, from the shared table.
var sentinels = codes.NewSentinels("raftoral worker")

// Error is an error of the library or of the node (a CallFailed). Match it with errors.Is
// against the sentinel of its code, or get at its fields with errors.As.
type Error struct {
	// Code is the error's code.
	Code Code
	// Message says what went wrong.
	Message string
	// Detail is the error type of a failed compute step (CodeWorkflowFailed), or the Cancel
	// reason of a cancelled run (e.g. "TERMINATED"), else empty.
	Detail string

	cancelled bool  // a cancelled run: also matches ErrRunCancelled
	cause     error // wrapped too
}

// Error renders the error as "raftoral worker: <message> (<CODE>)", with the detail when there is one.
func (e *Error) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("raftoral worker: %s: %s (%s)", e.Detail, e.Message, e.Code)
	}
	return fmt.Sprintf("raftoral worker: %s (%s)", e.Message, e.Code)
}

// Is reports whether target is the sentinel of e's code (or ErrRunCancelled for a cancelled run).
func (e *Error) Is(target error) bool {
	if e.cancelled && target == ErrRunCancelled {
		return true
	}
	return sentinels.Is(int32(e.Code), target)
}

// Unwrap returns the error's cause, if any.
func (e *Error) Unwrap() error { return e.cause }

func invalidArgument(format string, args ...any) error {
	return &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf(format, args...)}
}

// PanicError is what a panic inside a workflow or compute function becomes: the workflow (or
// the compute step) fails with error type "panic" and the panic's value as message.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the goroutine's stack where it panicked.
	Stack []byte
}

// Error returns "panic: <value>".
func (p *PanicError) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// Unwrap returns the panic's value when it is an error (e.g. a runtime.Error), else nil.
func (p *PanicError) Unwrap() error {
	if err, ok := p.Value.(error); ok {
		return err
	}
	return nil
}

// failure is how an error of workflow code travels: its type and message, as the embedded
// binding records them ("panic" for a panic, else the error's dynamic Go type).
// Protobuf strings must be UTF-8 (a message with other bytes does not marshal), and the type is
// at most 256 characters on the node.
func failure(err error) *workerpb.Failure {
	typ, msg := fmt.Sprintf("%T", err), err.Error()
	if p, ok := err.(*PanicError); ok {
		typ, msg = "panic", fmt.Sprint(p.Value)
	}
	typ = strings.ToValidUTF8(typ, "\uFFFD")
	if r := []rune(typ); len(r) > maxErrorTypeChars {
		typ = string(r[:maxErrorTypeChars])
	}
	return &workerpb.Failure{Type: typ, Message: strings.ToValidUTF8(msg, "\uFFFD")}
}

const maxErrorTypeChars = 256
