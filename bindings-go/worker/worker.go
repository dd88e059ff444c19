package worker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/raftoral/raftoral-go/worker/workerpb"
)

// protocolVersion is the version of worker.proto this library speaks.
const protocolVersion = 1

// library names this library in the node's logs (Register.library).
const library = "raftoral-go/0.1.0"

// Options configure a Worker.
type Options struct {
	// Target is the node's worker address, e.g. "127.0.0.1:9001" (its --worker-listen), in
	// grpc-go's target syntax. Required.
	Target string
	// WorkerID names this worker in the node's logs; empty: "raftoral-go@<host>:<pid>".
	WorkerID string
	// MaxConcurrentRuns is the most workflow functions this worker runs at once (1..65536);
	// 0: the node's default (256).
	MaxConcurrentRuns int
	// Logger receives the library's log records; nil: slog.Default().
	Logger *slog.Logger
	// TLSCA is a PEM file of the CA that signed the node's certificate; empty:
	// $RAFTORAL_TLS_CA. With a CA or a client certificate the worker connects with TLS, else in
	// plaintext.
	TLSCA string
	// TLSCert and TLSKey are PEM files of this worker's client certificate (one of the cluster's
	// CA with OU=worker) and its key; both or neither. Without TLSCA the system's CAs are trusted.
	TLSCert, TLSKey string
	// Token is a token of role worker (rft_...), sent as "authorization: Bearer TOKEN" on the
	// stream; empty: $RAFTORAL_TOKEN. The node refuses a worker without a token or certificate
	// when it has authTokens (ErrUnauthenticated) and one of another role (ErrPermissionDenied).
	Token string
	// DialOptions replace the default dial options (plaintext, or TLS from TLSCA, TLSCert and
	// TLSKey); Token is sent either way.
	DialOptions []grpc.DialOption
	// OnRegistered, when set, is called each time the node has accepted the registration (on
	// every (re)connection), with the node's answer: its node id, cluster id and limits. It runs
	// on the stream's receive goroutine: return quickly.
	OnRegistered func(*workerpb.Registered)
	// MinBackoff and MaxBackoff bound the wait between two connection attempts, which doubles
	// from MinBackoff after each failed one (with jitter); zero: 100 ms and 5 s.
	MinBackoff, MaxBackoff time.Duration
}

// Mode is how the members of a workflow's execution group run it (SPEC §3).
type Mode int32

const (
	// HotStandby: every member's node runs the workflow on its workers; only the owner's
	// proposes. The default.
	HotStandby Mode = Mode(workerpb.ExecutionMode_HOT_STANDBY)
	// OwnerOnly: only the owner's node runs it; a new owner executes it again from the history.
	OwnerOnly Mode = Mode(workerpb.ExecutionMode_OWNER_ONLY)
)

// RegisterOption is an option of RegisterWorkflow and Register.
type RegisterOption func(*registration) error

// WithMode sets the workflow type's execution mode (default HotStandby). Every worker of the
// type, and every node, must use the same.
func WithMode(m Mode) RegisterOption {
	return func(r *registration) error {
		if m != HotStandby && m != OwnerOnly {
			return invalidArgument("unknown execution mode %d", m)
		}
		r.mode = m
		return nil
	}
}

// KeepLastPerKey sets the type's history retention once a workflow ends: the last n values of
// each key (0, the default, keeps every value). Register the same n on every worker and node.
func KeepLastPerKey(n int64) RegisterOption {
	return func(r *registration) error {
		if n < 0 {
			return invalidArgument("keep_last_per_key must not be negative, got %d", n)
		}
		r.keepLast = uint64(n)
		return nil
	}
}

// Func is a workflow function on raw bytes: its input, and its result, are UTF-8 JSON text on
// the wire. Register registers typed functions over it.
type Func func(ctx *Context, input []byte) ([]byte, error)

type registration struct {
	name     string
	version  int
	fn       Func
	mode     Mode
	keepLast uint64
}

type typeKey struct {
	name    string
	version int
}

// Worker runs registered workflow functions for a node: Run connects to the node's worker
// port, registers the types and executes the runs the node hands it, until its context ends.
type Worker struct {
	opts   Options
	logger *slog.Logger

	mu      sync.Mutex
	regs    map[typeKey]*registration
	order   []*registration // registration order, for Register
	running bool

	slots chan struct{} // MaxConcurrentRuns tokens; nil: no local bound
	runs  sync.WaitGroup
}

// New makes a worker; register its workflows, then call Run. Options are checked by Run.
func New(opts Options) *Worker {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if opts.WorkerID == "" {
		host, _ := os.Hostname()
		opts.WorkerID = fmt.Sprintf("raftoral-go@%s:%d", host, os.Getpid())
	}
	if opts.TLSCA == "" {
		opts.TLSCA = os.Getenv("RAFTORAL_TLS_CA")
	}
	if opts.Token == "" {
		opts.Token = strings.TrimSpace(os.Getenv("RAFTORAL_TOKEN"))
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = opts.MinBackoff
	}
	w := &Worker{opts: opts, logger: logger.With("worker", opts.WorkerID), regs: map[typeKey]*registration{}}
	if opts.MaxConcurrentRuns > 0 && opts.MaxConcurrentRuns <= 65536 {
		w.slots = make(chan struct{}, opts.MaxConcurrentRuns)
	}
	return w
}

// RegisterWorkflow registers fn for the workflow type (name, version). It must be called before
// Run; a (name, version) registered twice is ErrAlreadyRegistered.
func (w *Worker) RegisterWorkflow(name string, version int, fn Func, opts ...RegisterOption) error {
	if fn == nil {
		return invalidArgument("the workflow function of %q must not be nil", name)
	}
	if strings.TrimSpace(name) == "" || !utf8.ValidString(name) {
		return invalidArgument("the workflow type name must be non-blank UTF-8, got %q", name)
	}
	if version < 1 || version > 1<<31-1 {
		return invalidArgument("the version of %q must be 1..2147483647, got %d", name, version)
	}
	r := &registration{name: name, version: version, fn: fn, mode: HotStandby}
	for _, o := range opts {
		if err := o(r); err != nil {
			return err
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running {
		return invalidArgument("register %q before Run: the node learns the types when the worker connects", name)
	}
	k := typeKey{name, version}
	if _, ok := w.regs[k]; ok {
		return &Error{Code: CodeAlreadyRegistered, Message: fmt.Sprintf("workflow %q version %d is already registered on this worker", name, version)}
	}
	w.regs[k] = r
	w.order = append(w.order, r)
	return nil
}

// Run connects to the node, registers the workflow types and runs what the node hands this
// worker. It blocks until ctx is cancelled, reconnecting with backoff whenever the stream ends
// (the runs of a lost stream are dropped here: the node executes them again from their
// committed history). On return every workflow function it started has returned: they see
// their Context cancelled. It returns nil when ctx was cancelled, or an error that retrying
// cannot fix: bad options, no registered workflow, or a registration the node refused
// (INVALID_ARGUMENT, FAILED_PRECONDITION), or credentials the node refused (ErrUnauthenticated,
// ErrPermissionDenied: no, a wrong, or a non-worker token or certificate).
func (w *Worker) Run(ctx context.Context) error {
	if err := w.start(); err != nil {
		return err
	}
	defer func() {
		w.mu.Lock()
		w.running = false
		w.mu.Unlock()
	}()
	dial := w.opts.DialOptions
	if dial == nil {
		creds, err := w.transportCredentials()
		if err != nil {
			return err
		}
		dial = []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	}
	conn, err := grpc.NewClient(w.opts.Target, dial...)
	if err != nil {
		return invalidArgument("bad target %q: %v", w.opts.Target, err)
	}
	defer conn.Close()
	defer w.runs.Wait() // after the sessions' runs were cancelled
	client := workerpb.NewWorkerServiceClient(conn)

	backoff := w.opts.MinBackoff
	failed := 0 // connection attempts in a row that did not register
	for {
		registered, err := w.session(ctx, client)
		if ctx.Err() != nil {
			return nil
		}
		if !registered && refused(err) {
			return err
		}
		if denied(err) {
			return err // the node refuses these credentials: retrying would not change that
		}
		if registered {
			backoff, failed = w.opts.MinBackoff, 0
		} else {
			failed++
		}
		// Jitter: workers of one node that lost it at once do not come back in lockstep.
		delay := backoff/2 + rand.N(backoff/2+1)
		// One warning per outage (and one per 100 attempts), not one per attempt.
		level := slog.LevelDebug
		if failed%100 <= 1 {
			level = slog.LevelWarn
		}
		attrs := []any{"target", w.opts.Target, "error", err, "retry_in", delay, "attempts", failed}
		if !registered && status.Code(err) == codes.Unavailable {
			if w.usesTLS() {
				attrs = append(attrs, "hint", "does the node's worker port speak TLS, with a certificate TLSCA trusts for this address?")
			} else {
				attrs = append(attrs, "hint", "does the node's worker port speak TLS? set TLSCA (or RAFTORAL_TLS_CA)")
			}
		}
		w.logger.Log(ctx, level, "raftoral worker: no stream to the node; reconnecting", attrs...)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		backoff = min(backoff*2, w.opts.MaxBackoff)
	}
}

func (w *Worker) start() error {
	if strings.TrimSpace(w.opts.Target) == "" {
		return invalidArgument("Options.Target must name the node's worker address, e.g. 127.0.0.1:9001")
	}
	if w.opts.MaxConcurrentRuns < 0 || w.opts.MaxConcurrentRuns > 65536 {
		return invalidArgument("Options.MaxConcurrentRuns must be 0..65536, got %d", w.opts.MaxConcurrentRuns)
	}
	if n := utf8.RuneCountInString(w.opts.WorkerID); strings.TrimSpace(w.opts.WorkerID) == "" || n > 256 {
		return invalidArgument("Options.WorkerID must be non-blank and at most 256 characters")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running {
		return invalidArgument("Run is already running")
	}
	if len(w.order) == 0 {
		return invalidArgument("no workflow registered: register workflows before Run")
	}
	w.running = true
	return nil
}

func (w *Worker) usesTLS() bool {
	return w.opts.DialOptions == nil && (w.opts.TLSCA != "" || w.opts.TLSCert != "")
}

// transportCredentials are TLS when the options name a CA or a client certificate, else plaintext.
func (w *Worker) transportCredentials() (credentials.TransportCredentials, error) {
	o := w.opts
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, invalidArgument("Options.TLSCert and Options.TLSKey go together: give both or neither")
	}
	if o.TLSCA == "" && o.TLSCert == "" {
		return insecure.NewCredentials(), nil
	}
	config := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.TLSCA != "" {
		pem, err := os.ReadFile(o.TLSCA)
		if err != nil {
			return nil, invalidArgument("Options.TLSCA %q cannot be read: %v", o.TLSCA, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, invalidArgument("Options.TLSCA %q holds no PEM certificate", o.TLSCA)
		}
		config.RootCAs = pool
	}
	if o.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return nil, invalidArgument("Options.TLSCert %q and TLSKey %q: %v", o.TLSCert, o.TLSKey, err)
		}
		config.Certificates = []tls.Certificate{cert}
	}
	return credentials.NewTLS(config), nil
}

// denied reports whether the node refused the worker's credentials.
func denied(err error) bool {
	return errors.Is(err, ErrUnauthenticated) || errors.Is(err, ErrPermissionDenied)
}

// refused reports whether the node refused the registration for good.
func refused(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == CodeInvalidArgument
}

func (w *Worker) registerMessage() *workerpb.WorkerMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	reg := &workerpb.Register{
		WorkerId:          w.opts.WorkerID,
		ProtocolVersions:  []uint32{protocolVersion},
		MaxConcurrentRuns: uint32(w.opts.MaxConcurrentRuns),
		Library:           library,
	}
	for _, r := range w.order {
		reg.Types = append(reg.Types, &workerpb.WorkflowTypeSpec{
			Name: r.name, Version: int32(r.version),
			Mode: workerpb.ExecutionMode(r.mode), KeepLastPerKey: r.keepLast,
		})
	}
	return &workerpb.WorkerMessage{Kind: &workerpb.WorkerMessage_Register{Register: reg}}
}

func (w *Worker) lookup(name string, version int) *registration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.regs[typeKey{name, version}]
}

// registrationTimeout bounds the wait for Registered: a node that accepts the stream but never
// answers is treated as gone.
const registrationTimeout = 30 * time.Second

// session runs one stream: Register, then the node's messages until the stream ends. It
// reports whether the node accepted the registration, and why the stream ended.
func (w *Worker) session(ctx context.Context, client workerpb.WorkerServiceClient) (registered bool, err error) {
	if w.opts.Token != "" {
		// Metadata on the stream rather than PerRPCCredentials: it goes over plaintext too (a
		// node may take tokens on loopback without TLS) and with caller-given DialOptions.
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+w.opts.Token)
	}
	sctx, cancel := context.WithCancelCause(ctx)
	s := &session{w: w, parent: ctx, ctx: sctx, cancel: cancel, runs: map[uint64]*run{}}
	defer s.close()
	stream, err := client.Connect(sctx)
	if err != nil {
		return false, s.registrationErr(err)
	}
	s.stream = stream
	if err := s.send(w.registerMessage()); err != nil {
		if _, rerr := stream.Recv(); rerr != nil {
			err = rerr // Send's io.EOF hides the status; Recv reports it
		}
		return false, s.registrationErr(err)
	}
	timer := time.AfterFunc(registrationTimeout, func() {
		cancel(&Error{Code: CodeTimeout, Message: "the node did not answer the registration"})
	})
	first, err := stream.Recv()
	timer.Stop()
	if err != nil {
		return false, s.registrationErr(err)
	}
	reg := first.GetRegistered()
	if reg == nil {
		return false, &Error{Code: CodeInternal, Message: fmt.Sprintf("the node's first message is %T, not Registered", first.GetKind())}
	}
	if reg.GetProtocolVersion() != protocolVersion {
		return false, &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf("the node answered protocol version %d; this library speaks %d", reg.GetProtocolVersion(), protocolVersion)}
	}
	s.registered(reg)
	w.logger.Info("raftoral worker: registered", "target", w.opts.Target, "node_id", reg.GetNodeId(),
		"cluster_id", reg.GetClusterId(), "max_concurrent_runs", reg.GetMaxConcurrentRuns())
	if w.opts.OnRegistered != nil {
		w.opts.OnRegistered(reg)
	}
	go s.heartbeats()
	for {
		m, err := stream.Recv()
		if err != nil {
			return true, s.recvErr(err)
		}
		s.heard()
		s.dispatch(m)
	}
}

// registrationErr turns the status that ended a stream before Registered into the error Run
// returns: INVALID_ARGUMENT and FAILED_PRECONDITION are the node refusing this registration.
func (s *session) registrationErr(err error) error {
	err = s.recvErr(err)
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.InvalidArgument, codes.FailedPrecondition:
		return &Error{Code: CodeInvalidArgument, Message: "the node refused the registration: " + st.Message(), cause: err}
	case codes.Unauthenticated:
		msg := "the node at " + s.w.opts.Target + " refused this worker's credentials (UNAUTHENTICATED): " + st.Message()
		if s.w.opts.Token == "" && s.w.opts.TLSCert == "" {
			msg += "; set Options.Token (or RAFTORAL_TOKEN) to a token of role worker, or a client certificate"
		}
		return &Error{Code: CodeUnauthenticated, Message: msg, cause: err}
	case codes.PermissionDenied:
		return &Error{Code: CodePermissionDenied, Message: "the node at " + s.w.opts.Target +
			" does not let this worker's credentials run workflows (PERMISSION_DENIED): " + st.Message() +
			"; a worker needs a token or certificate of role worker", cause: err}
	}
	return err
}

// recvErr prefers the session's own reason to end (a silent node, a timeout) over the
// cancellation status it caused.
func (s *session) recvErr(err error) error {
	if cause := context.Cause(s.ctx); cause != nil && s.ctx.Err() != nil {
		var e *Error
		if errors.As(cause, &e) {
			return e
		}
	}
	return err
}
