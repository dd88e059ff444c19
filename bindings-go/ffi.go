package raftoral

// Every #cgo line of the package is here. The library is found at build time through -L and at
// run time through the rpath below; CGO_LDFLAGS (which cgo puts before these flags) and
// LD_LIBRARY_PATH override both, e.g. for a libraftoral.so installed elsewhere:
//
//	CGO_LDFLAGS="-L$DIR -Wl,-rpath,$DIR" go build ./...

/*
#cgo CFLAGS: -I${SRCDIR}/../ffi-c-api/include
#cgo LDFLAGS: -L${SRCDIR}/../ffi-c-api/target/native -lraftoral -Wl,-rpath,${SRCDIR}/../ffi-c-api/target/native
#include <stdlib.h>
#include "shims.h"
*/
import "C"

import (
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

// Handles and KeepAlive.
//
// The C handles (*C.raftoral_node_t, *C.raftoral_ctx_t, *C.raftoral_output_t) are tagged
// integers that only look like pointers: they are never dereferenced, and they lie outside any
// address the Go heap uses, so the garbage collector ignores them. A closed or stale handle is
// an error in the library, never a crash, which is what makes the finalizer safety net below
// harmless: if a *Node became unreachable during a C call and its finalizer closed the handle,
// the call would fail with an error. Every method still ends its C calls with
// runtime.KeepAlive(n) so that this cannot happen while a method runs.
//
// Go values never cross into C as pointers: closures are passed as runtime/cgo.Handle numbers
// (see callbacks.go), and byte slices only for the duration of a call that copies them.

// InitOptions configures the embedded JVM. The zero value is the default: the JDK of
// $RAFTORAL_JAVA_HOME, $JAVA_HOME or the one the library was built with, and the engine's jars
// from the raftoral-jars directory beside libraftoral.so.
type InitOptions struct {
	// JavaHome is a JDK >= 25 to run; empty: the library's search order above.
	JavaHome string
	// ClassPath is the engine's class path; empty: every jar in raftoral-jars.
	ClassPath string
	// JVMOptions are extra JVM options, e.g. "-Xmx512m".
	JVMOptions []string
}

var lib struct {
	mu       sync.Mutex
	inited   bool
	shutDown bool
}

// Init starts the JVM that hosts the engine, inside this process. NewNode calls it with the
// default options when it has not been called, so call it yourself only to pass options, before
// the first node. One process hosts at most one JVM: once Init has succeeded, later calls
// return nil and ignore their options. After Shutdown it returns an error matching ErrShutDown.
func Init(opts InitOptions) error {
	lib.mu.Lock()
	defer lib.mu.Unlock()
	if lib.shutDown {
		return &Error{Code: CodeShutDown, Message: "raftoral_shutdown has been called; the library can be used once per process"}
	}
	if lib.inited {
		return nil
	}
	var javaHome, classPath *C.char
	var err error
	if javaHome, err = cstringOrNil(opts.JavaHome, "JavaHome"); err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(javaHome))
	if classPath, err = cstringOrNil(opts.ClassPath, "ClassPath"); err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(classPath))
	var options **C.char
	if n := len(opts.JVMOptions); n > 0 {
		// A C array of C strings: C memory, since C keeps no Go pointers.
		options = (**C.char)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
		defer C.free(unsafe.Pointer(options))
		slots := unsafe.Slice(options, n)
		for i, o := range opts.JVMOptions {
			if slots[i], err = cstring(o, "JVMOptions"); err != nil {
				return err
			}
		}
		defer func() {
			for _, s := range slots {
				C.free(unsafe.Pointer(s))
			}
		}()
	}
	var cerr *C.raftoral_error_t
	status := C.raftoral_go_init(javaHome, classPath, options, C.size_t(len(opts.JVMOptions)), &cerr)
	if err := takeError(status, cerr); err != nil {
		return err
	}
	lib.inited = true
	acceptSIGPIPE()
	return nil
}

// acceptSIGPIPE keeps a SIGPIPE raised on one of the JVM's threads (a write of the engine to a
// closed socket) from killing the process. The JVM's handler, installed over Go's, passes a
// SIGPIPE on to the handler it found (signal chaining); on a thread Go does not run, the Go
// runtime treats a SIGPIPE nobody asked for as fatal (it restores the default action and
// raises it again). Asking for it with signal.Notify makes the runtime deliver it to a
// channel instead, which nobody reads: the signal is dropped, and the write gets EPIPE.
//
// One consequence for the host: a write to a closed stdout or stderr returns EPIPE instead of
// ending the program, as in any Go program that calls signal.Notify for SIGPIPE.
func acceptSIGPIPE() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
}

func ensureInit() error {
	lib.mu.Lock()
	inited := lib.inited
	lib.mu.Unlock()
	if inited {
		return nil
	}
	return Init(InitOptions{})
}

// Shutdown closes every node that is still open (each hands off its leadership) and stops the
// engine for good: every later call returns an error matching ErrShutDown, and the library
// cannot be started again in this process. Call it before the process exits (at the end of
// main, or in TestMain after m.Run): the JVM's own shutdown hooks do not run when a Go program
// exits. Calling it when the library was never started, or a second time, does nothing.
func Shutdown() error {
	lib.mu.Lock()
	defer lib.mu.Unlock()
	if !lib.inited || lib.shutDown {
		return nil
	}
	lib.shutDown = true
	var cerr *C.raftoral_error_t
	return takeError(C.raftoral_shutdown(&cerr), cerr)
}

// ABIVersion is the ABI version of the loaded libraftoral.so; the binding was written for
// version 1 (RAFTORAL_ABI_VERSION of raftoral.h).
func ABIVersion() uint32 {
	return uint32(C.raftoral_abi_version())
}

// takeError turns a status and its error object into a Go error, taking ownership of cerr.
func takeError(status C.raftoral_status_t, cerr *C.raftoral_error_t) error {
	if status == C.RAFTORAL_OK {
		C.raftoral_error_free(cerr) // NULL on success; freed in case the library ever sets one
		return nil
	}
	if cerr == nil {
		return &Error{Code: Code(status), Message: Code(status).String()}
	}
	e := &Error{Code: Code(C.raftoral_error_code(cerr)), Message: C.GoString(C.raftoral_error_message(cerr))}
	if d := C.raftoral_error_detail(cerr); d != nil {
		e.Detail = C.GoString(d)
	}
	C.raftoral_error_free(cerr)
	return e
}

// takeBuf copies a library-owned buffer into Go memory and frees it.
func takeBuf(buf *C.raftoral_buf_t) []byte {
	if buf.data == nil {
		return []byte{}
	}
	out := make([]byte, buf.len)
	copy(out, unsafe.Slice((*byte)(unsafe.Pointer(buf.data)), buf.len))
	C.raftoral_buf_free(buf)
	return out
}

// takeString copies a library-owned buffer as a string and frees it.
func takeString(buf *C.raftoral_buf_t) string {
	if buf.data == nil {
		return ""
	}
	out := C.GoStringN((*C.char)(unsafe.Pointer(buf.data)), C.int(buf.len))
	C.raftoral_buf_free(buf)
	return out
}

// cstring copies s into C memory (free it with C.free). A NUL byte inside s would silently cut
// the string short in C, so it is refused.
func cstring(s, what string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, invalidArgument(what + " must not contain a NUL byte")
	}
	return C.CString(s), nil
}

// cstringOrNil is cstring with NULL for the empty string (C's "use the default").
func cstringOrNil(s, what string) (*C.char, error) {
	if s == "" {
		return nil, nil
	}
	return cstring(s, what)
}

// bytesPtr is the address of b's first byte, or NULL for an empty b. C copies the bytes
// before the call returns, so passing Go memory is allowed (it holds no Go pointers).
func bytesPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}
