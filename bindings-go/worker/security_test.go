package worker_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/raftoral/raftoral-go/worker"
	pb "github.com/raftoral/raftoral-go/worker/workerpb"
)

// Workers against a secured node process: TLS with the certificates of `raftoral certs init` and
// a tokens file of `raftoral token create`. The node's client API is called over TLS with an
// operator token.

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return true }

type secureNode struct {
	*realNode
	ca     string
	tokens map[string]string
	certs  string
}

func raftoralCLI(t *testing.T, args ...string) string {
	t.Helper()
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(root, "raftoral"), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("raftoral %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

func startSecureNode(t *testing.T) *secureNode {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no node process")
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	if _, err := os.Stat(filepath.Join(root, "examples/target/classpath.txt")); err != nil {
		t.Skip("the node is not built (see node_test.go)")
	}
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	raftoralCLI(t, "certs", "init", certs)
	tokensFile := filepath.Join(dir, "tokens")
	tokens := map[string]string{}
	for _, role := range []string{"worker", "reader", "operator"} {
		lines := strings.Split(raftoralCLI(t, "token", "create", "--role", role, "--file", tokensFile), "\n")
		tokens[role] = strings.TrimSpace(lines[len(lines)-1])
	}
	ca := filepath.Join(certs, "ca.pem")
	args := append(newNodeArgs(t, ""), "--tls-cert", filepath.Join(certs, "node.pem"),
		"--tls-key", filepath.Join(certs, "node-key.pem"), "--tls-ca", ca, "--auth-tokens", tokensFile)
	n := startRealNode(t, args)
	pem, err := os.ReadFile(ca)
	must(t, err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	conn, err := grpc.NewClient(n.api, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})),
		grpc.WithPerRPCCredentials(bearer(tokens["operator"])))
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	n.client = pb.NewRaftoralApiClient(conn)
	return &secureNode{realNode: n, ca: ca, tokens: tokens, certs: certs}
}

func greetWorker(n *secureNode, opts worker.Options) *worker.Worker {
	opts.Target = n.workers
	opts.MinBackoff, opts.MaxBackoff = 50*time.Millisecond, 300*time.Millisecond
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	w := worker.New(opts)
	_ = worker.Register(w, "go_secure_greet", 1, func(ctx *worker.Context, name string) (string, error) {
		return worker.Checkpoint(ctx, "greeting", "hello "+name)
	})
	return w
}

// runRefused runs w and returns Run's error, failing when Run keeps retrying.
func runRefused(t *testing.T, w *worker.Worker) error {
	t.Helper()
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { done <- w.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(wait):
		t.Fatal("the refused worker kept retrying")
		return nil
	}
}

func TestAgainstSecureNode(t *testing.T) {
	t.Setenv("RAFTORAL_TLS_CA", "")
	t.Setenv("RAFTORAL_TOKEN", "")
	n := startSecureNode(t)

	t.Run("a worker with the CA and a worker token runs workflows", func(t *testing.T) {
		registered := make(chan struct{}, 1)
		w := greetWorker(n, worker.Options{TLSCA: n.ca, Token: n.tokens["worker"],
			OnRegistered: func(*pb.Registered) { registered <- struct{}{} }})
		stop := runWorker(t, w)
		defer stop()
		select {
		case <-registered:
		case <-time.After(2 * wait):
			t.Fatal("the worker did not register")
		}
		n.start(t, "go_secure_greet", "secure-1", "ada")
		out := n.await(t, "secure-1")
		if out.GetInfo().GetStatus() != pb.WorkflowStatus_COMPLETED {
			t.Fatalf("outcome %v", out.GetInfo())
		}
		var got string
		must(t, json.Unmarshal(out.GetResult(), &got))
		if got != "hello ada" {
			t.Fatalf("result %q", got)
		}
	})

	t.Run("the environment gives the CA and the token", func(t *testing.T) {
		t.Setenv("RAFTORAL_TLS_CA", n.ca)
		t.Setenv("RAFTORAL_TOKEN", n.tokens["worker"])
		registered := make(chan struct{}, 1)
		w := greetWorker(n, worker.Options{OnRegistered: func(*pb.Registered) { registered <- struct{}{} }})
		stop := runWorker(t, w)
		defer stop()
		select {
		case <-registered:
		case <-time.After(2 * wait):
			t.Fatal("the worker did not register")
		}
	})

	t.Run("without a token: ErrUnauthenticated, and Run returns", func(t *testing.T) {
		err := runRefused(t, greetWorker(n, worker.Options{TLSCA: n.ca}))
		if !errors.Is(err, worker.ErrUnauthenticated) || !strings.Contains(err.Error(), "UNAUTHENTICATED") {
			t.Fatalf("Run returned %v, want ErrUnauthenticated", err)
		}
	})

	t.Run("a wrong token: ErrUnauthenticated", func(t *testing.T) {
		err := runRefused(t, greetWorker(n, worker.Options{TLSCA: n.ca, Token: "rft_00000000_" + strings.Repeat("0", 43)}))
		if !errors.Is(err, worker.ErrUnauthenticated) {
			t.Fatalf("Run returned %v, want ErrUnauthenticated", err)
		}
	})

	t.Run("a reader token: ErrPermissionDenied", func(t *testing.T) {
		err := runRefused(t, greetWorker(n, worker.Options{TLSCA: n.ca, Token: n.tokens["reader"]}))
		var e *worker.Error
		if !errors.Is(err, worker.ErrPermissionDenied) || !errors.As(err, &e) || e.Code != worker.CodePermissionDenied ||
			!strings.Contains(err.Error(), "role worker") {
			t.Fatalf("Run returned %v, want ErrPermissionDenied", err)
		}
	})

	t.Run("a client certificate of another role: ErrPermissionDenied", func(t *testing.T) {
		// raftoral certs init's client certificate is an operator's: TLS with it works, the role does not.
		err := runRefused(t, greetWorker(n, worker.Options{TLSCA: n.ca,
			TLSCert: filepath.Join(n.certs, "client.pem"), TLSKey: filepath.Join(n.certs, "client-key.pem")}))
		if !errors.Is(err, worker.ErrPermissionDenied) {
			t.Fatalf("Run returned %v, want ErrPermissionDenied", err)
		}
	})

	t.Run("plaintext against the TLS port never registers and says why", func(t *testing.T) {
		logs := &syncBuffer{}
		registered := make(chan struct{}, 1)
		w := greetWorker(n, worker.Options{Token: n.tokens["worker"], Logger: slog.New(slog.NewTextHandler(logs, nil)),
			OnRegistered: func(*pb.Registered) { registered <- struct{}{} }})
		stop := runWorker(t, w)
		select {
		case <-registered:
			t.Fatal("a plaintext worker registered on the TLS port")
		case <-time.After(3 * time.Second):
		}
		_ = stop()
		if !strings.Contains(logs.String(), "TLSCA") {
			t.Fatalf("no hint about TLS in the log:\n%s", logs.String())
		}
	})

	t.Run("bad TLS options", func(t *testing.T) {
		for _, o := range []worker.Options{{TLSCA: filepath.Join(t.TempDir(), "missing.pem")}, {TLSCert: n.ca}} {
			if err := runRefused(t, greetWorker(n, o)); !errors.Is(err, worker.ErrInvalidArgument) {
				t.Fatalf("%+v: Run returned %v, want ErrInvalidArgument", o, err)
			}
		}
	})
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
