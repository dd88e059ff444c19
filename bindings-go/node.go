package raftoral

/*
#include <stdlib.h>
#include "shims.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"runtime/cgo"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Config is the configuration of a node: the JSON object of raftoral_node_create. Each field is
// one of the node options (docs/CONFIGURATION.md has their defaults, units and ranges, which the
// engine checks: an out-of-range value is an error matching ErrInvalidArgument that names the
// JSON key). Zero fields are left out, so the engine's defaults apply.
type Config struct {
	// NodeID is this node's id (>= 1). Required with Members; a joining node gets one from the
	// cluster; a restarted node reads it from DataDir.
	NodeID uint64
	// Members are the bootstrap members, node id → Raft "host:port", this node included.
	// Every member is given the same map; a bootstrap Open returns once a majority is up.
	Members map[uint64]string
	// RaftAddress is this node's Raft "host:port" when it is not in Members.
	RaftAddress string
	// APIAddress makes the node serve the gRPC client API at "host:port" ("127.0.0.1:0" for
	// any free port; see Node.APIAddress).
	APIAddress string
	// WorkerAddress makes the node serve worker processes (worker.proto) at "host:port"; keep
	// it on loopback.
	WorkerAddress string
	// HTTPAddress makes the node serve its web console, Prometheus metrics (/metrics) and
	// health (/health/live, /health/ready) over HTTP at "host:port".
	HTTPAddress string
	// Join lists API addresses of a running cluster to join.
	Join []string
	// DataDir keeps the node's identity, Raft log and state on disk; empty: in memory.
	DataDir string
	// ClusterID names the cluster; a data directory of another cluster is refused.
	ClusterID string
	// ExecutionGroups is the number of execution groups (1..1024).
	ExecutionGroups int
	// ElectionTimeout is the Raft election timeout (millisecond resolution).
	ElectionTimeout time.Duration
	// RequestTimeout bounds one request to the cluster (millisecond resolution).
	RequestTimeout time.Duration
	// MaxInFlightEntries is how many Raft entries a group may have in flight (1..1024, default
	// 2); commands wait and are batched beyond it.
	MaxInFlightEntries int
	// BatchLinger is how long, under load, a group's free entry slot waits for more commands
	// before it sends (microsecond resolution, up to 1 s; default 200µs). Zero means the
	// default; a negative value means never wait.
	BatchLinger time.Duration
	// MaxVoters caps the voters of the management group (1..99).
	MaxVoters int
	// MinGroupSize is the fewest members an execution group keeps (1..50, at most
	// TargetGroupSize; default 3): a group below it is topped up or merged into another.
	MinGroupSize int
	// TargetGroupSize is the size the cluster works toward for each execution group
	// (MinGroupSize..MaxGroupSize; default 3).
	TargetGroupSize int
	// MaxGroupSize is the most members an execution group has (TargetGroupSize..99 and at least
	// 2*MinGroupSize-1; default 5): beyond it a group splits in two.
	MaxGroupSize int
	// NodeFailureTimeout is how long a silent node may stay before it is removed.
	NodeFailureTimeout time.Duration
	// RejoinAfterRemoval says whether a node its cluster removed rejoins by itself as a new node
	// (nil: the default, true) or stops saying so (false).
	RejoinAfterRemoval *bool
	// Retention is how long finished workflows are kept before they are pruned.
	Retention time.Duration
	// SnapshotThreshold is how many Raft entries a group appends between its snapshots (>= 1,
	// default 10000); the log is purged up to each snapshot.
	SnapshotThreshold int64
	// PayloadLimitBytes caps inputs, results and checkpoint values (default 4 MiB).
	PayloadLimitBytes int
	// SnapshotTransferRate is the most bytes per second this node sends, over all followers, to
	// those fetching its snapshots out of band (>= 0; zero: the default, no limit).
	SnapshotTransferRate int64
	// SnapshotChunkBytes is the size of one chunk of a snapshot transfer (65536..8388608,
	// default 1 MiB).
	SnapshotChunkBytes int
	// TLSCert is this node's certificate chain (PEM): the client API is served over TLS, and a
	// join presents it. Needs TLSKey (docs/SECURITY.md).
	TLSCert string
	// TLSKey is the private key of TLSCert (PKCS#8 PEM, as "raftoral certs init" writes it).
	TLSKey string
	// TLSCA is the cluster's CA certificates (PEM): API calls must then authenticate (a client
	// certificate of this CA or a token); a join trusts the cluster by them. Needs TLSCert.
	TLSCA string
	// AuthTokens is the bearer tokens file ("raftoral token create"): API calls must present a
	// token whose role allows them. Reloaded when the file changes.
	AuthTokens string
	// StartTimeout bounds Open (default 60 s): see Open.
	StartTimeout time.Duration
	// CloseGrace is how long Close waits for workflow functions still running (default 10 s;
	// one millisecond to barely wait): see Close.
	CloseGrace time.Duration
}

// MarshalJSON encodes c as raftoral_node_create expects it.
func (c Config) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	if c.NodeID != 0 {
		m["node_id"] = c.NodeID
	}
	if len(c.Members) > 0 {
		members := make(map[string]string, len(c.Members))
		for id, addr := range c.Members {
			members[strconv.FormatUint(id, 10)] = addr
		}
		m["members"] = members
	}
	text := map[string]string{"raft_address": c.RaftAddress, "api_address": c.APIAddress,
		"worker_address": c.WorkerAddress, "http_address": c.HTTPAddress, "data_dir": c.DataDir, "cluster_id": c.ClusterID,
		"tls_cert": c.TLSCert, "tls_key": c.TLSKey, "tls_ca": c.TLSCA, "auth_tokens": c.AuthTokens}
	for k, v := range text {
		if v != "" {
			m[k] = v
		}
	}
	if len(c.Join) > 0 {
		m["join"] = c.Join
	}
	ints := map[string]int64{"execution_groups": int64(c.ExecutionGroups), "max_in_flight_entries": int64(c.MaxInFlightEntries),
		"max_voters": int64(c.MaxVoters), "min_group_size": int64(c.MinGroupSize), "target_group_size": int64(c.TargetGroupSize),
		"max_group_size": int64(c.MaxGroupSize), "snapshot_threshold": c.SnapshotThreshold,
		"payload_limit_bytes": int64(c.PayloadLimitBytes), "snapshot_transfer_rate": c.SnapshotTransferRate,
		"snapshot_chunk_bytes": int64(c.SnapshotChunkBytes)}
	for k, v := range ints {
		if v != 0 {
			m[k] = v
		}
	}
	if c.RejoinAfterRemoval != nil {
		m["rejoin_after_removal"] = *c.RejoinAfterRemoval
	}
	switch {
	case c.BatchLinger < 0:
		m["batch_linger_us"] = 0
	case c.BatchLinger > 0:
		us := c.BatchLinger.Microseconds()
		if us < 1 {
			return nil, fmt.Errorf("raftoral: batch_linger_us: %v is below one microsecond", c.BatchLinger)
		}
		m["batch_linger_us"] = us
	}
	durations := map[string]time.Duration{"election_timeout_ms": c.ElectionTimeout,
		"request_timeout_ms": c.RequestTimeout, "node_failure_timeout_ms": c.NodeFailureTimeout,
		"retention_ms": c.Retention, "start_timeout_ms": c.StartTimeout, "close_grace_ms": c.CloseGrace}
	for k, v := range durations {
		if v != 0 {
			ms := v.Milliseconds()
			if ms < 1 {
				return nil, fmt.Errorf("raftoral: %s: %v is below one millisecond", k, v)
			}
			m[k] = ms
		}
	}
	return json.Marshal(m)
}

// Node is one node of a Raftoral cluster, embedded in this process. Create it with NewNode,
// register the workflow types, then Open it. Any node answers for any workflow of the cluster.
//
// A Node is safe for concurrent use. Call Close when done: a finalizer closes a forgotten Node
// only as a safety net, at a time the garbage collector chooses.
type Node struct {
	mu  sync.Mutex
	ptr *C.raftoral_node_t // nil once closed
}

// NewNode creates a node from cfg without starting it (see Open). It starts the embedded JVM
// first when Init has not been called.
func NewNode(cfg Config) (*Node, error) {
	if err := ensureInit(); err != nil {
		return nil, err
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		return nil, invalidArgument(err.Error())
	}
	cjs := C.CString(string(js))
	defer C.free(unsafe.Pointer(cjs))
	var ptr *C.raftoral_node_t
	var cerr *C.raftoral_error_t
	if err := takeError(C.raftoral_node_create(cjs, &ptr, &cerr), cerr); err != nil {
		return nil, err
	}
	n := &Node{ptr: ptr}
	runtime.SetFinalizer(n, (*Node).Close)
	return n, nil
}

// handle returns the C handle, or an error matching ErrNodeClosed after Close.
func (n *Node) handle() (*C.raftoral_node_t, error) {
	if n == nil {
		return nil, invalidArgument("nil *Node")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ptr == nil {
		return nil, nodeClosed()
	}
	return n.ptr, nil
}

// closedError turns the library's "handle no longer valid" into ErrNodeClosed when this node
// was closed during the call (Close ran concurrently, e.g. while Result waited).
func (n *Node) closedError(err error) error {
	if e, ok := err.(*Error); ok && e.Code == CodeInvalidHandle {
		n.mu.Lock()
		closed := n.ptr == nil
		n.mu.Unlock()
		if closed {
			return nodeClosed()
		}
	}
	return err
}

// Open starts the node: it bootstraps a cluster from Config.Members, joins one through
// Config.Join, or restarts from the identity in Config.DataDir. It returns nil once the node is
// part of a cluster with a quorum (a bootstrap, once a majority of the members is up), or an
// error matching ErrTimeout when that did not happen within Config.StartTimeout (default 60 s):
// the node is then stopped, and only Close is left to call. A Close from another goroutine
// interrupts Open, which then returns an error matching ErrNodeClosed. Register the workflow
// types first, the same on every node.
func (n *Node) Open() error {
	p, err := n.handle()
	if err != nil {
		return err
	}
	var cerr *C.raftoral_error_t
	err = takeError(C.raftoral_node_start(p, &cerr), cerr)
	runtime.KeepAlive(n)
	return err
}

// Close stops the node and releases it; its workflows continue on the other members. Always
// call it (the finalizer is only a safety net). Close is idempotent; after it, every method
// returns an error matching ErrNodeClosed. After Shutdown, which closes every node, Close does
// nothing.
//
// Close waits up to Config.CloseGrace (default 10 s) for the workflow functions still running
// on the node: from the stop on, their checkpoints return ErrAborted and IsTerminated returns
// true, so a function that checkpoints or polls returns at once. Their registrations are
// released only once none of their functions runs. When some still run after the grace, Close
// returns an error matching ErrTimeout: the node is closed all the same, and those
// registrations are released as their functions return. A workflow function that closes its own
// node is not waited for. Close interrupts an Open in progress.
func (n *Node) Close() error {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	p := n.ptr
	n.ptr = nil
	n.mu.Unlock()
	if p == nil {
		return nil
	}
	runtime.SetFinalizer(n, nil)
	var cerr *C.raftoral_error_t
	err := takeError(C.raftoral_node_close(p, &cerr), cerr)
	if e, ok := err.(*Error); ok && e.Code == CodeShutDown {
		return nil // Shutdown closed it already
	}
	return err
}

// ID is the node's id, known once the node is open.
func (n *Node) ID() (uint64, error) {
	p, err := n.handle()
	if err != nil {
		return 0, err
	}
	var id C.uint64_t
	var cerr *C.raftoral_error_t
	err = takeError(C.raftoral_node_id(p, &id, &cerr), cerr)
	runtime.KeepAlive(n)
	return uint64(id), err
}

// APIAddress is the "host:port" at which the node serves the gRPC client API, or "" when it
// serves none (Config.APIAddress empty).
func (n *Node) APIAddress() (string, error) {
	return n.address(func(p *C.raftoral_node_t, buf *C.char, capacity C.size_t, length *C.size_t, cerr **C.raftoral_error_t) C.raftoral_status_t {
		return C.raftoral_node_api_address(p, buf, capacity, length, cerr)
	})
}

// HTTPAddress is the "host:port" of the node's HTTP port (web console, /metrics, health), or ""
// when it serves none (Config.HTTPAddress empty).
func (n *Node) HTTPAddress() (string, error) {
	return n.address(func(p *C.raftoral_node_t, buf *C.char, capacity C.size_t, length *C.size_t, cerr **C.raftoral_error_t) C.raftoral_status_t {
		return C.raftoral_node_http_address(p, buf, capacity, length, cerr)
	})
}

// address reads one of the node's addresses through call, growing the buffer until it fits.
func (n *Node) address(call func(*C.raftoral_node_t, *C.char, C.size_t, *C.size_t, **C.raftoral_error_t) C.raftoral_status_t) (string, error) {
	p, err := n.handle()
	if err != nil {
		return "", err
	}
	defer runtime.KeepAlive(n)
	capacity := 64
	for {
		buf := make([]byte, capacity)
		var length C.size_t
		var cerr *C.raftoral_error_t
		status := call(p, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(capacity), &length, &cerr)
		if status == C.RAFTORAL_ERR_BUFFER_TOO_SMALL {
			C.raftoral_error_free(cerr)
			capacity = int(length) + 1
			continue
		}
		if err := takeError(status, cerr); err != nil {
			return "", err
		}
		return string(buf[:length]), nil
	}
}

// String describes the node for logs.
func (n *Node) String() string {
	if _, err := n.handle(); err != nil {
		return "raftoral.Node(closed)"
	}
	if id, err := n.ID(); err == nil {
		return fmt.Sprintf("raftoral.Node(%d)", id)
	}
	return "raftoral.Node(not open)"
}

// Mode is how the members of an execution group run a workflow type.
type Mode int32

const (
	// HotStandby: every member runs the function; only the owner proposes (the default).
	HotStandby Mode = C.RAFTORAL_MODE_HOT_STANDBY
	// OwnerOnly: only the owner runs the function; a new owner replays it from the committed
	// checkpoints.
	OwnerOnly Mode = C.RAFTORAL_MODE_OWNER_ONLY
)

// String returns "HOT_STANDBY" or "OWNER_ONLY".
func (m Mode) String() string {
	switch m {
	case HotStandby:
		return "HOT_STANDBY"
	case OwnerOnly:
		return "OWNER_ONLY"
	}
	return fmt.Sprintf("Mode(%d)", int32(m))
}

// WorkflowFunc is a workflow: it gets its Context and input and returns its result. A returned
// error or a panic makes the workflow FAILED (with the error's Go type, or "panic", as error
// type). When a checkpoint returns an error matching ErrAborted or ErrTerminated, return
// promptly (returning that error is fine: the engine ignores the outcome then).
//
// A workflow function must be deterministic up to its checkpoints: on failover (OwnerOnly) it
// runs again from the start, and in HotStandby every member runs it. Put side effects in
// CheckpointCompute. It runs on an engine thread that cgo adopted, so it must not call
// runtime.Goexit (nor t.FailNow in a test): that ends the process.
type WorkflowFunc func(ctx *Context, input []byte) ([]byte, error)

// RegisterOption configures RegisterWorkflow.
type RegisterOption func(*registerOptions)

type registerOptions struct {
	mode           Mode
	keepLastPerKey int64
}

// WithMode sets the execution mode of the workflow type (default HotStandby).
func WithMode(m Mode) RegisterOption {
	return func(o *registerOptions) { o.mode = m }
}

// KeepLastPerKey sets the type's history retention: once a workflow of the type has ended
// (completed, failed or terminated), its checkpoint history keeps only the last n values of
// each key. 0 (the default) keeps every value until the workflow is pruned. It never applies
// while the workflow runs, because a replay (a new owner after a failover, any restart) reads
// every value from the first. The node that ends or terminates a workflow carries its own
// registration's n, so register the same n on every node. A negative n makes RegisterWorkflow
// return an error matching ErrInvalidArgument.
func KeepLastPerKey(n int64) RegisterOption {
	return func(o *registerOptions) { o.keepLastPerKey = n }
}

// liveRegistrations counts the registrations whose cgo.Handle is not deleted yet (for tests).
var liveRegistrations atomic.Int64

// registration is what a registered type's cgo.Handle holds.
type registration struct {
	fn WorkflowFunc
}

// RegisterWorkflow registers fn as the workflow type typ, version >= 1, on this node, before or
// after Open. Register the same types on every node of the cluster. A type and version can be
// registered once per node (ErrAlreadyRegistered).
func (n *Node) RegisterWorkflow(typ string, version int, fn WorkflowFunc, opts ...RegisterOption) error {
	if fn == nil {
		return invalidArgument("fn must not be nil")
	}
	v, err := checkVersion(version)
	if err != nil {
		return err
	}
	o := registerOptions{mode: HotStandby}
	for _, opt := range opts {
		opt(&o)
	}
	p, err := n.handle()
	if err != nil {
		return err
	}
	ctyp, err := cstring(typ, "type")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(ctyp))
	// The handle is released by the registration's finalizer when the node is closed, or
	// here when the library refuses the registration (it then keeps no reference).
	h := cgo.NewHandle(&registration{fn: fn})
	liveRegistrations.Add(1)
	var cerr *C.raftoral_error_t
	status := C.raftoral_go_register_workflow(p, ctyp, v, C.raftoral_execution_mode_t(o.mode), C.int64_t(o.keepLastPerKey),
		C.uintptr_t(h), &cerr)
	runtime.KeepAlive(n)
	if err := takeError(status, cerr); err != nil {
		h.Delete()
		liveRegistrations.Add(-1)
		return err
	}
	return nil
}

func checkVersion(version int) (C.uint32_t, error) {
	if version < 1 || version > math.MaxUint32 {
		return 0, invalidArgument(fmt.Sprintf("version must be in 1..%d, got %d", uint32(math.MaxUint32), version))
	}
	return C.uint32_t(version), nil
}
