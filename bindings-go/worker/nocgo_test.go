package worker_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The worker package is for programs that do not want the JVM in their process: it must build
// without cgo, so it may not import the cgo package raftoral.
func TestBuildsWithoutCgo(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./...")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("CGO_ENABLED=0 go list -deps ./worker/...: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "github.com/raftoral/raftoral-go" || dep == "runtime/cgo" {
			t.Errorf("the worker package depends on %s", dep)
		}
	}
}
