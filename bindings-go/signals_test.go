package raftoral

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The host survives SIGPIPE and recovered nil-pointer panics while the JVM is loaded (testNode
// keeps it loaded): the JVM runs with -Xrs and its handlers carry SA_ONSTACK, and the binding
// makes the Go runtime accept a SIGPIPE that arrives on one of the JVM's threads (without
// that, TestSIGPIPEToTheProcessAndToJVMThreads kills the test process).

func TestWriteToClosedPipeReturnsEPIPE(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer w.Close()
	if _, err := w.Write([]byte("nobody reads this")); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write to a closed pipe: %v; want EPIPE", err)
	}
	echo(t)
}

func TestWriteToClosedSocketReturnsAnError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	server.Close()
	// The first writes may still be accepted by the kernel; once the peer's RST is back, a
	// write(2) raises SIGPIPE and returns EPIPE (or reports the reset).
	var werr error
	for i := 0; i < 1000 && werr == nil; i++ {
		_, werr = client.Write(make([]byte, 4096))
	}
	if !errors.Is(werr, syscall.EPIPE) && !errors.Is(werr, syscall.ECONNRESET) {
		t.Fatalf("writes to a closed socket: %v; want EPIPE or ECONNRESET", werr)
	}
	echo(t)
}

func TestSIGPIPEToTheProcessAndToJVMThreads(t *testing.T) {
	if err := syscall.Kill(os.Getpid(), syscall.SIGPIPE); err != nil {
		t.Fatal(err)
	}
	// A SIGPIPE raised on a JVM thread (as a write of the engine to a closed socket would):
	// the JVM's handler passes it on to Go's, which must not treat it as fatal.
	threads := jvmThreads(t)
	if len(threads) == 0 {
		t.Fatal("no JVM thread found in /proc/self/task")
	}
	for _, tid := range threads {
		if err := syscall.Tgkill(os.Getpid(), tid, syscall.SIGPIPE); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Fatal(err)
		}
	}
	echo(t)
}

// jvmThreads lists the ids of threads named by the JVM ("VM Thread", "C2 CompilerThre"...).
func jvmThreads(t *testing.T) []int {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/comm")
	if err != nil {
		t.Fatal(err)
	}
	var tids []int
	for _, comm := range tasks {
		name, err := os.ReadFile(comm)
		if err != nil {
			continue // the thread has exited
		}
		n := strings.TrimSpace(string(name))
		if strings.HasPrefix(n, "VM ") || strings.HasPrefix(n, "C1 ") || strings.HasPrefix(n, "C2 ") || strings.HasPrefix(n, "GC ") {
			tid, err := strconv.Atoi(filepath.Base(filepath.Dir(comm)))
			if err == nil {
				tids = append(tids, tid)
			}
		}
	}
	return tids
}

func TestRecoveredNilDereference(t *testing.T) {
	for i := 0; i < 100; i++ {
		err := func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err, _ = r.(runtime.Error)
				}
			}()
			var p *stepValue
			p.Step++ // SIGSEGV in Go code, on a Go thread, with the JVM's SIGSEGV handler installed
			return nil
		}()
		if err == nil || !strings.Contains(err.Error(), "nil pointer dereference") {
			t.Fatalf("recovered %v; want a nil pointer dereference runtime.Error", err)
		}
	}
	echo(t)
}

// echo proves the process and its node still work.
func echo(t *testing.T) {
	t.Helper()
	ctx := waitCtx(t)
	h, err := testNode.Start(ctx, "echo", 1, []byte("alive"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := h.Result(ctx); err != nil || string(out) != "alive" {
		t.Fatalf("echo after the signal: %q, %v", out, err)
	}
}
