package raftoral

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

// The tests run against the real library: one node in the test process (testNode), and for
// cluster_test.go three node processes, each this test binary re-executed in child mode.

// payloadLimit is testNode's payload limit, small so that oversized payloads are cheap.
const payloadLimit = 4096

// testNode is a one-node cluster in this process, shared by the in-process tests; the
// workflows of workflows_test.go are registered on it.
var testNode *Node

// wait is the generous bound of every wait in the tests: a failure when exceeded, never a
// measurement (the machine is shared with other JVM-heavy jobs).
const wait = 60 * time.Second

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
	case "shutdown":
		os.Exit(shutdownChildMain())
	default:
		os.Exit(childMain())
	}
	code, err := runTests(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func runTests(m *testing.M) (int, error) {
	defer Shutdown()
	node, err := NewNode(Config{NodeID: 1, RaftAddress: fmt.Sprintf("127.0.0.1:%d", freePort()), PayloadLimitBytes: payloadLimit})
	if err != nil {
		return 0, fmt.Errorf("NewNode: %w", err)
	}
	defer node.Close()
	if err := registerTestWorkflows(node); err != nil {
		return 0, fmt.Errorf("register: %w", err)
	}
	if err := node.Open(); err != nil {
		return 0, fmt.Errorf("Open: %w", err)
	}
	testNode = node
	return m.Run(), nil
}

// freePort returns a TCP port that was free a moment ago.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitCtx is a context bounded by wait.
func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}
