package worker_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// The checked-in workerpb/ is what gen.sh makes from worker-protocol's .proto files: a change of
// worker.proto without a regeneration fails here.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: regeneration installs the protoc plugins")
	}
	if os.Getenv("PROTOC") == "" {
		if _, err := exec.LookPath("protoc"); err != nil {
			home, _ := os.UserHomeDir()
			m2 := os.Getenv("M2_REPO")
			if m2 == "" {
				m2 = filepath.Join(home, ".m2", "repository")
			}
			if found, _ := filepath.Glob(filepath.Join(m2, "com/google/protobuf/protoc/*/protoc-*-linux-x86_64.exe")); len(found) == 0 {
				t.Skip("no protoc: set PROTOC, put protoc on PATH, or build the Java modules once (Maven fetches protoc into ~/.m2)")
			}
		}
	}
	out := t.TempDir()
	cmd := exec.Command("bash", "gen.sh", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		if bytes.Contains(msg, []byte("go: ")) && bytes.Contains(msg, []byte("protoc-gen-go")) {
			t.Skipf("cannot install the protoc plugins (no Go module proxy?): %s", msg)
		}
		t.Fatalf("gen.sh: %v\n%s", err, msg)
	}
	// The header names protoc's version, which may differ between machines without changing
	// the code.
	protocLine := regexp.MustCompile(`(?m)^// \tprotoc +v.*$`)
	files, _ := filepath.Glob(filepath.Join(out, "*.go"))
	checked, _ := filepath.Glob(filepath.Join("workerpb", "*.go"))
	if len(files) != len(checked) {
		t.Fatalf("gen.sh made %d files, workerpb/ has %d", len(files), len(checked))
	}
	for _, f := range files {
		fresh, _ := os.ReadFile(f)
		have, err := os.ReadFile(filepath.Join("workerpb", filepath.Base(f)))
		if err != nil {
			t.Fatalf("workerpb/%s is missing: run ./gen.sh", filepath.Base(f))
		}
		if !bytes.Equal(protocLine.ReplaceAll(fresh, nil), protocLine.ReplaceAll(have, nil)) {
			t.Errorf("workerpb/%s is not what gen.sh makes from the .proto files: run ./gen.sh", filepath.Base(f))
		}
	}
}
