/**
 * \file raftoral.h
 *
 * The Raftoral C ABI: the one contract every native binding (Python, Go, C) is built on.
 *
 * Raftoral is a durable-workflow runtime whose engine runs on the JVM. `libraftoral.so`
 * hosts that JVM inside the calling process: #raftoral_init starts it once, and every other
 * call is forwarded to the engine. One process embeds at most one JVM, so #raftoral_init is
 * idempotent and #raftoral_shutdown is final.
 *
 * \par Errors
 * Every fallible function returns a #raftoral_status_t: #RAFTORAL_OK (0) on success, a
 * positive code otherwise. When the caller passes a non-NULL `error_out`, a failing call also
 * stores there a #raftoral_error_t (code, message) that the caller owns and frees with
 * #raftoral_error_free; a successful call stores NULL there. Errors are values, never
 * thread-local state, so they are safe to read from any thread (a Go goroutine may move
 * between OS threads between two calls). Outputs of a failing call are left unmodified.
 *
 * \par Bad input
 * NULL pointers, handles that were closed or are of the wrong kind, strings that are not
 * valid UTF-8, undersized buffers, and calls before #raftoral_init or after
 * #raftoral_shutdown return an error code; they never crash the process.
 *
 * \par Strings and bytes
 * Strings are NUL-terminated UTF-8. Payloads (workflow input and result, checkpoint values)
 * are opaque bytes given as pointer + length; the engine never interprets them.
 *
 * \par Limits
 * A string argument may be at most 1,048,575 bytes long (1 MiB with its NUL): the library reads
 * no further than that, and a longer string is #RAFTORAL_ERR_INVALID_ARGUMENT with a message
 * saying so (workflow ids are further limited to 512 characters). Payloads are limited by the
 * node's "payload_limit_bytes" (default 4 MiB): #RAFTORAL_ERR_PAYLOAD_TOO_LARGE. A timeout of
 * `INT64_MAX` milliseconds (or anything above about 73 years) means "forever".
 *
 * \par Threads
 * Every function may be called from any thread. A #raftoral_ctx_t and a #raftoral_output_t
 * are valid only during the callback that received them. One #raftoral_ctx_t may be used from
 * several threads the workflow starts: its calls are serialized, so the n-th write of a key is
 * the n-th call that got its turn on this node (another member may serialize its own threads
 * differently: give each thread its own keys when the pairing matters). A compute function
 * (#raftoral_ctx_checkpoint_compute) may not use the context it was called with, and must not
 * wait for a thread that does.
 *
 * \par Fork
 * A child of `fork()` has only the thread that forked, not the JVM's threads, so the library
 * cannot work there: once #raftoral_init has started the JVM, every call in a forked child
 * (#raftoral_init and #raftoral_shutdown included) returns #RAFTORAL_ERR_FORKED at once, and the
 * child can exit normally: its `exit()` runs the exit handlers registered after the fork,
 * flushes stdio and ends the process with that status, skipping the teardown of the libraries
 * the engine loaded (RocksDB's destructors would crash without their threads), and with it any
 * other exit handler registered before the fork. The parent is unaffected. A child that needs
 * Raftoral must exec a new program. (Python's binding also marks itself unusable in the child
 * through `os.register_at_fork`; a Go program cannot fork.)
 *
 * \par Signals
 * The JVM runs with `-Xrs`: SIGINT, SIGTERM, SIGQUIT and SIGHUP stay the host's. The handlers
 * it does install (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGPIPE, SIGXFSZ, SIGUSR2) carry
 * `SA_ONSTACK` and pass signals that are not the JVM's to the handler installed before them.
 * A SIGPIPE can then reach the host's handler on a JVM thread: a host whose handler treats that
 * as fatal should ignore SIGPIPE or route it (the Go binding calls `signal.Notify` for it).
 */
#ifndef RAFTORAL_H
#define RAFTORAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RAFTORAL_API __attribute__((visibility("default")))

/** The ABI version this header describes; compare with #raftoral_abi_version. */
#define RAFTORAL_ABI_VERSION 1

/** A status code: #RAFTORAL_OK or one of #raftoral_status_enum. */
typedef int32_t raftoral_status_t;

/**
 * The values of #raftoral_status_t. Numbers are stable across ABI versions; new codes are added at
 * the end. They are the numbers of the Java enum io.raftoral.common.ErrorCode (and of ErrorCode in
 * client_api.proto); ErrorCodeTablesTest checks this list, the Python exceptions and the Go
 * sentinels against it.
 */
enum raftoral_status_enum {
  /** Success. */
  RAFTORAL_OK = 0,
  /** An argument is invalid: NULL where a value is needed, bad UTF-8 or JSON, an empty key. */
  RAFTORAL_ERR_INVALID_ARGUMENT = 1,
  /** A handle is NULL, closed, or of another kind. */
  RAFTORAL_ERR_INVALID_HANDLE = 2,
  /** #raftoral_init has not been called (or failed). */
  RAFTORAL_ERR_NOT_INITIALIZED = 3,
  /** #raftoral_shutdown has been called; the library cannot be used again in this process. */
  RAFTORAL_ERR_SHUT_DOWN = 4,
  /** A caller-provided buffer is too small; the needed length was stored. */
  RAFTORAL_ERR_BUFFER_TOO_SMALL = 5,
  /** No workflow has this id. */
  RAFTORAL_ERR_NOT_FOUND = 6,
  /** A workflow with this id exists with another type, version or input. */
  RAFTORAL_ERR_ALREADY_EXISTS = 7,
  /** No workflow of this type and version is registered on the node. */
  RAFTORAL_ERR_NOT_REGISTERED = 8,
  /** This type and version is registered already. */
  RAFTORAL_ERR_ALREADY_REGISTERED = 9,
  /** The deadline passed first. */
  RAFTORAL_ERR_TIMEOUT = 10,
  /** The workflow ended FAILED; #raftoral_error_detail gives the workflow's error type. */
  RAFTORAL_ERR_WORKFLOW_FAILED = 11,
  /** The workflow was terminated; the message gives the reason. */
  RAFTORAL_ERR_WORKFLOW_TERMINATED = 12,
  /** A payload is above the node's payload limit. */
  RAFTORAL_ERR_PAYLOAD_TOO_LARGE = 13,
  /** The cluster cannot answer now (no leader, no quorum); retrying later may succeed. */
  RAFTORAL_ERR_UNAVAILABLE = 14,
  /** The node is closed or stopping. */
  RAFTORAL_ERR_NODE_CLOSED = 15,
  /** This run of the workflow is no longer wanted (it ended elsewhere or the node stops): return now. */
  RAFTORAL_ERR_ABORTED = 16,
  /** A #raftoral_compute_fn reported a failure through #raftoral_output_fail. */
  RAFTORAL_ERR_CALLBACK_FAILED = 17,
  /** The JVM could not be found or started; the message says why. */
  RAFTORAL_ERR_JVM = 18,
  /** An unexpected internal error; the message says what happened. */
  RAFTORAL_ERR_INTERNAL = 19,
  /** The process forked after #raftoral_init and this is the child: the library cannot be used here (see Fork). */
  RAFTORAL_ERR_FORKED = 20,
  /**
   * The cluster removed this node (it was unreachable past the node failure timeout); the node
   * rejoins as a new node by itself unless configured not to (the message says what to do).
   */
  RAFTORAL_ERR_NODE_REMOVED = 21,
  /** A value could not be encoded or decoded by the node's payload codec. */
  RAFTORAL_ERR_CODEC = 22,
  /**
   * The caller presented no credentials, or ones the node does not accept (no token, a wrong or
   * unknown token, no or an untrusted client certificate).
   */
  RAFTORAL_ERR_UNAUTHENTICATED = 23,
  /** The caller is authenticated but its role does not allow the call (e.g. a reader token terminating a workflow). */
  RAFTORAL_ERR_PERMISSION_DENIED = 24,
};

/** How the members of an execution group run a workflow type. */
typedef int32_t raftoral_execution_mode_t;

enum raftoral_execution_mode_enum {
  /** Every member runs the function; only the owner proposes (the default). */
  RAFTORAL_MODE_HOT_STANDBY = 0,
  /** Only the owner runs the function; a new owner replays it from committed checkpoints. */
  RAFTORAL_MODE_OWNER_ONLY = 1,
};

/** An error: a code and a message. Owned by the caller; free with #raftoral_error_free. */
typedef struct raftoral_error raftoral_error_t;

/** A node of a Raftoral cluster. Created by #raftoral_node_create, closed by #raftoral_node_close. */
typedef struct raftoral_node raftoral_node_t;

/** What a running workflow uses to checkpoint; valid only during its #raftoral_workflow_fn call. */
typedef struct raftoral_ctx raftoral_ctx_t;

/** Where a callback puts its outcome; valid only during the callback that received it. */
typedef struct raftoral_output raftoral_output_t;

/**
 * Bytes the library hands to the caller. `data` is followed by a NUL byte not counted in
 * `len`, so text can be read as a C string. Owned by the caller: free with #raftoral_buf_free.
 */
typedef struct raftoral_buf {
  uint8_t *data;
  size_t len;
} raftoral_buf_t;

/** Options of #raftoral_init; zero-initialise it and set `struct_size = sizeof(raftoral_init_options_t)`. */
typedef struct raftoral_init_options {
  /** sizeof(raftoral_init_options_t), so that later versions can add fields. */
  size_t struct_size;
  /** A JDK >= 25 to run; NULL: $RAFTORAL_JAVA_HOME, then $JAVA_HOME, then the JDK the library was built with. */
  const char *java_home;
  /** The engine's class path; NULL: every jar in the `raftoral-jars` directory beside libraftoral.so. */
  const char *class_path;
  /** Extra JVM options (e.g. "-Xmx512m"), or NULL. */
  const char *const *jvm_options;
  /** The number of entries in `jvm_options`. */
  size_t jvm_options_len;
} raftoral_init_options_t;

/**
 * Options of #raftoral_node_register_workflow_ex; zero-initialise it and set
 * `struct_size = sizeof(raftoral_workflow_options_t)`. A zeroed struct means the defaults.
 */
typedef struct raftoral_workflow_options {
  /** sizeof(raftoral_workflow_options_t), so that later versions can add fields. */
  size_t struct_size;
  /** How the members of an execution group run the type; default (0) #RAFTORAL_MODE_HOT_STANDBY. */
  raftoral_execution_mode_t mode;
  /**
   * The type's history retention (>= 0): once a workflow of the type has ended (completed,
   * failed or terminated), its checkpoint history keeps only the last `keep_last_per_key` values
   * of each key; 0 (the default) keeps every value until the workflow is pruned. Never applied
   * while the workflow runs: a replay (a new owner after a failover, any restart) reads every
   * value from seq 0. The node that ends or terminates the workflow carries its own
   * registration's value in that replicated command, so register the same value on every node.
   */
  int64_t keep_last_per_key;
} raftoral_workflow_options_t;

/**
 * A workflow function. Called on a thread of the engine for each run of a workflow with the
 * run's context, its input, and where to put its outcome: call #raftoral_output_set with the
 * result, or #raftoral_output_fail to make the workflow FAILED. Returning without either makes
 * the workflow FAILED too. When a `raftoral_ctx_*` call returns #RAFTORAL_ERR_ABORTED or
 * #RAFTORAL_ERR_WORKFLOW_TERMINATED the function should return promptly; whatever it then
 * puts in `output` is ignored. `input` is borrowed for the duration of the call.
 */
typedef void (*raftoral_workflow_fn)(void *env, raftoral_ctx_t *ctx, const uint8_t *input, size_t input_len,
                                     raftoral_output_t *output);

/**
 * The side effect of #raftoral_ctx_checkpoint_compute: computes a value and puts it in
 * `output` with #raftoral_output_set, or reports a failure with #raftoral_output_fail.
 */
typedef void (*raftoral_compute_fn)(void *env, raftoral_output_t *output);

/** Frees the `env` of a registered workflow once the node no longer needs it, or NULL. */
typedef void (*raftoral_finalizer_fn)(void *env);

/** The ABI version of the loaded library; equal to #RAFTORAL_ABI_VERSION when header and library match. */
RAFTORAL_API uint32_t raftoral_abi_version(void);

/* ---- errors and buffers ---- */

/** The code of `error`, or #RAFTORAL_ERR_INVALID_ARGUMENT for NULL. Does not take ownership. */
RAFTORAL_API raftoral_status_t raftoral_error_code(const raftoral_error_t *error);

/** The message of `error` (UTF-8, never NULL), owned by `error` and valid until it is freed. */
RAFTORAL_API const char *raftoral_error_message(const raftoral_error_t *error);

/**
 * Extra information, owned by `error`, or NULL: for #RAFTORAL_ERR_WORKFLOW_FAILED the type of
 * the error the workflow raised (e.g. "ValueError"); for #RAFTORAL_ERR_CALLBACK_FAILED the
 * type the compute function reported; for any error of #raftoral_workflow_start that got as far
 * as choosing the workflow id, that id (generated when the caller passed NULL).
 */
RAFTORAL_API const char *raftoral_error_detail(const raftoral_error_t *error);

/** Frees `error`; NULL is ignored. Takes ownership. */
RAFTORAL_API void raftoral_error_free(raftoral_error_t *error);

/** Frees the bytes of `buf` and sets it to {NULL, 0}; NULL and an empty buffer are ignored. Does not free `buf` itself. */
RAFTORAL_API void raftoral_buf_free(raftoral_buf_t *buf);

/* ---- library lifetime ---- */

/**
 * Starts the embedded JVM and the engine. Idempotent: later calls return #RAFTORAL_OK and ignore
 * `options`. `options` may be NULL (defaults) and is not retained; only its first
 * `options->struct_size` bytes are read, so a caller built against an older, shorter struct gets
 * the defaults of the fields it does not have. The JVM runs with `-Xrs`, so the host keeps its
 * own SIGINT/SIGTERM handling.
 */
RAFTORAL_API raftoral_status_t raftoral_init(const raftoral_init_options_t *options, raftoral_error_t **error_out);

/**
 * Closes every node that is still open, as #raftoral_node_close does (each hands off its
 * leadership and waits for its callbacks in flight, up to its close grace), and makes every
 * later call return #RAFTORAL_ERR_SHUT_DOWN. Call it before the process exits: JVM shutdown
 * hooks do not run when the host calls exit(). A second call returns #RAFTORAL_OK. Returns the
 * first error of a node's close (e.g. #RAFTORAL_ERR_TIMEOUT); every node is closed either way.
 */
RAFTORAL_API raftoral_status_t raftoral_shutdown(raftoral_error_t **error_out);

/* ---- nodes ---- */

/**
 * Creates a node from a JSON configuration, without starting it. Every key is optional; unknown
 * keys, values of the wrong JSON type and values out of range are RAFTORAL_ERR_INVALID_ARGUMENT,
 * the message naming the key. The node options (docs/CONFIGURATION.md has their defaults and
 * ranges; the same options as the Java builder, the CLI, Python's and Go's):
 *
 *  - "node_id" (integer >= 1): this node's id; a joining node gets one from the cluster.
 *  - "members" (object: node id -> Raft "host:port"): the bootstrap members, this node included.
 *  - "raft_address" ("host:port"): this node's Raft address when it is not in "members".
 *  - "api_address" ("host:port", port 0: any free one): serve the gRPC client API there.
 *  - "worker_address" ("host:port", port 0: any free one): serve worker processes there
 *    (worker.proto: workflow types run beside the node in any language); keep it on loopback.
 *  - "http_address" ("host:port", port 0: any free one): serve the web console, Prometheus
 *    metrics (/metrics) and health (/health/live, /health/ready) over HTTP there.
 *  - "join" (array of "host:port"): API addresses of a running cluster to join.
 *  - "data_dir" (string; absent or null: in memory): the node's identity, Raft log and state.
 *  - "cluster_id" (string, default "raftoral"): the cluster's name.
 *  - "execution_groups" (1..1024, default 1): execution groups of the cluster.
 *  - "election_timeout_ms" (>= 1, default 1000): Raft's minimum election timeout.
 *  - "request_timeout_ms" (>= 1, default 30000): how long a call waits for the cluster.
 *  - "max_in_flight_entries" (1..1024, default 2): Raft entries a group may have in flight.
 *  - "batch_linger_us" (0..1000000, default 200): how long a free entry slot waits under load.
 *  - "max_voters" (1..99, default 3): voters of the management group.
 *  - "min_group_size" (1..50, <= target_group_size, default 3): the fewest members a group keeps.
 *  - "target_group_size" (min_group_size..max_group_size, default 3): members per execution group.
 *  - "max_group_size" (target_group_size..99, >= 2 * min_group_size - 1, default 5): beyond it a
 *    group splits in two.
 *  - "node_failure_timeout_ms" (>= 1, default 30000): silence before the cluster removes a member.
 *  - "rejoin_after_removal" (boolean, default true): a removed node rejoins as a new node.
 *  - "retention_ms" (>= 1, default 604800000): how long finished workflows are kept.
 *  - "snapshot_threshold" (>= 1, default 10000): Raft entries between a group's snapshots.
 *  - "payload_limit_bytes" (1..2147483647, default 4194304): the largest input, checkpoint or result.
 *  - "snapshot_transfer_rate" (bytes per second >= 0, default 0: no limit): the most this node
 *    sends, over all followers, to those fetching its snapshots out of band.
 *  - "snapshot_chunk_bytes" (65536..8388608, default 1048576): one chunk of a snapshot transfer.
 *  - "tls_cert", "tls_key" (PEM file paths, both or neither): serve the client API over TLS
 *    with this certificate chain and PKCS#8 key; a join presents them (docs/SECURITY.md).
 *  - "tls_ca" (PEM file path; needs "tls_cert"): the cluster's CA; API calls must then
 *    authenticate (a client certificate of it, or a token), and a join trusts the cluster by it.
 *  - "auth_tokens" (file path): bearer tokens (raftoral token create); API calls must present
 *    one whose role allows them (RAFTORAL_ERR_UNAUTHENTICATED, RAFTORAL_ERR_PERMISSION_DENIED).
 *
 * And the C ABI's own: "start_timeout_ms" (default 60000: see #raftoral_node_start) and
 * "close_grace_ms" (default 10000, 0 allowed: see #raftoral_node_close).
 * The node stored in `*node_out` is owned by the caller: close it with #raftoral_node_close.
 */
RAFTORAL_API raftoral_status_t raftoral_node_create(const char *config_json, raftoral_node_t **node_out,
                                                    raftoral_error_t **error_out);

/**
 * Registers a workflow type on `node`, before #raftoral_node_start or after it has returned. `fn`
 * is called with `env` for every run; `finalizer` (may be NULL) is called with `env` once, when
 * the node is closed and no call of `fn` is running any more (see #raftoral_node_close). Register
 * the same types on every node of a cluster. Does not take ownership of the strings; `env` stays
 * the caller's until `finalizer` is called.
 */
RAFTORAL_API raftoral_status_t raftoral_node_register_workflow(raftoral_node_t *node, const char *type, uint32_t version,
                                                               raftoral_execution_mode_t mode, raftoral_workflow_fn fn,
                                                               void *env, raftoral_finalizer_fn finalizer,
                                                               raftoral_error_t **error_out);

/**
 * As #raftoral_node_register_workflow, with the options of `options` (NULL: the defaults; see
 * #raftoral_workflow_options_t), so a type can also set its history retention. Only the first
 * `options->struct_size` bytes are read, so a caller built against an older, shorter struct gets
 * the defaults of the fields it does not have. #RAFTORAL_ERR_INVALID_ARGUMENT, and nothing is
 * registered, for a `struct_size` smaller than `sizeof(size_t)`, an unknown mode or a negative
 * `keep_last_per_key`. Does not take ownership of `options` (not retained) or of the strings;
 * `env` stays the caller's until `finalizer` is called.
 */
RAFTORAL_API raftoral_status_t raftoral_node_register_workflow_ex(raftoral_node_t *node, const char *type,
                                                                  uint32_t version,
                                                                  const raftoral_workflow_options_t *options,
                                                                  raftoral_workflow_fn fn, void *env,
                                                                  raftoral_finalizer_fn finalizer,
                                                                  raftoral_error_t **error_out);

/**
 * Starts `node`: bootstraps a cluster from "members", joins one through "join", or restarts
 * from the identity in "data_dir". Returns #RAFTORAL_OK once the node is part of a cluster with
 * a quorum: its management group has a leader, the cluster's topology lists the node, and every
 * execution group whose configuration includes it has a leader (so a bootstrap needs a majority
 * of "members" up). When that does not happen within "start_timeout_ms" (default 60000), returns
 * #RAFTORAL_ERR_TIMEOUT, typically a little after the timeout: the node is then stopped and can
 * only be closed; create a new node to try again. A #raftoral_node_close from another thread
 * interrupts a start: the start then returns #RAFTORAL_ERR_NODE_CLOSED.
 */
RAFTORAL_API raftoral_status_t raftoral_node_start(raftoral_node_t *node, raftoral_error_t **error_out);

/** The node's id, stored in `*id_out` (known after #raftoral_node_start). */
RAFTORAL_API raftoral_status_t raftoral_node_id(raftoral_node_t *node, uint64_t *id_out, raftoral_error_t **error_out);

/**
 * Copies the node's client API address ("host:port", empty when it serves none) with a NUL
 * into `buf` of `capacity` bytes and stores its length in `*len_out`. When `capacity` is too
 * small, writes nothing, stores the needed length and returns #RAFTORAL_ERR_BUFFER_TOO_SMALL.
 */
RAFTORAL_API raftoral_status_t raftoral_node_api_address(raftoral_node_t *node, char *buf, size_t capacity,
                                                         size_t *len_out, raftoral_error_t **error_out);

/**
 * As #raftoral_node_api_address, for the node's HTTP port ("http_address": the console,
 * /metrics and health): "host:port", the bound port when it was 0; empty when it serves none.
 */
RAFTORAL_API raftoral_status_t raftoral_node_http_address(raftoral_node_t *node, char *buf, size_t capacity,
                                                          size_t *len_out, raftoral_error_t **error_out);

/**
 * Stops `node` (its workflows continue on the other members), then waits up to "close_grace_ms"
 * (default 10000) for the workflow callbacks still running on it (from the stop on, a running
 * workflow's checkpoints, #raftoral_ctx_is_terminated and #raftoral_ctx_is_owner return
 * #RAFTORAL_ERR_ABORTED: it should return), and calls the finalizer of each workflow type
 * once none of its callbacks runs any more. Returns after that:
 * #RAFTORAL_OK when every finalizer has run. When callbacks are still running at the end of the
 * grace, returns #RAFTORAL_ERR_TIMEOUT naming them; the node is closed all the same, and the
 * finalizer of each such type runs later, on the thread of its last callback, right after that
 * callback returns: `env` is never finalized under a running callback. A callback that closes
 * its own node is not waited for (its type is finalized when it returns). A close during
 * #raftoral_node_start interrupts the start first. Invalidates the handle in every case. Takes
 * ownership of `node`.
 */
RAFTORAL_API raftoral_status_t raftoral_node_close(raftoral_node_t *node, raftoral_error_t **error_out);

/* ---- workflows (any node answers for any workflow) ---- */

/**
 * Starts a workflow and returns once its start is committed. With an id the start is
 * idempotent: starting the same id again with the same type, version and input returns it,
 * with anything else #RAFTORAL_ERR_ALREADY_EXISTS; it never runs a workflow twice. With
 * `workflow_id` NULL the library mints one naming the least-loaded execution group
 * (`g<index>-<uuid>`, found without an index lookup) before the start is sent. A start
 * that fails (e.g. #RAFTORAL_ERR_TIMEOUT or #RAFTORAL_ERR_UNAVAILABLE: it may have been
 * committed all the same) gives the id it used as the error's detail (#raftoral_error_detail):
 * retry with that id, and a start that did commit is not started twice. The id is stored in
 * `*workflow_id_out`, owned by the caller (free with #raftoral_buf_free). `input` is copied.
 */
RAFTORAL_API raftoral_status_t raftoral_workflow_start(raftoral_node_t *node, const char *type, uint32_t version,
                                                       const uint8_t *input, size_t input_len, const char *workflow_id,
                                                       raftoral_buf_t *workflow_id_out, raftoral_error_t **error_out);

/**
 * Waits up to `timeout_ms` (>= 0; `INT64_MAX` waits until the workflow ends) for the workflow to
 * end. COMPLETED: #RAFTORAL_OK and the result in `*result_out` (owned by the caller). FAILED:
 * #RAFTORAL_ERR_WORKFLOW_FAILED with the workflow's error type as the error's detail.
 * TERMINATED: #RAFTORAL_ERR_WORKFLOW_TERMINATED. Still running at the deadline:
 * #RAFTORAL_ERR_TIMEOUT. The node closing meanwhile: #RAFTORAL_ERR_NODE_CLOSED.
 */
RAFTORAL_API raftoral_status_t raftoral_workflow_await(raftoral_node_t *node, const char *workflow_id, int64_t timeout_ms,
                                                       raftoral_buf_t *result_out, raftoral_error_t **error_out);

/**
 * Describes a workflow as a JSON object stored in `*info_json_out` (owned by the caller):
 * "workflowId", "type", "version", "status", "ownerNode", "executionGroup", "startedAt",
 * "endedAt", "checkpointCount", "errorType", "errorMessage".
 */
RAFTORAL_API raftoral_status_t raftoral_workflow_describe(raftoral_node_t *node, const char *workflow_id,
                                                          raftoral_buf_t *info_json_out, raftoral_error_t **error_out);

/**
 * Lists workflows. `query_json` may be NULL (the first 100 of all) or an object with
 * "statuses" (array of "RUNNING", "COMPLETED", "FAILED", "TERMINATED"), "type", "version",
 * "started_after" and "started_before" (ISO-8601 instants), "limit" (1..1000),
 * "page_token". Stores {"workflows": [info...], "nextPageToken": string or null} in
 * `*page_json_out`, owned by the caller.
 */
RAFTORAL_API raftoral_status_t raftoral_workflow_list(raftoral_node_t *node, const char *query_json,
                                                      raftoral_buf_t *page_json_out, raftoral_error_t **error_out);

/**
 * Reads one page of a workflow's checkpoint history: every committed value, with when and under
 * whom it was committed, kept until the workflow is pruned. With `key` the values of that key
 * in seq order; with `key` NULL the values of every key in the order they were committed (exact
 * whatever the clocks say). `page_token` NULL (or "") reads the first page; pass the previous
 * page's "nextPageToken" (with the same `key`) for the next one: a page after it has no gap and
 * no repeat while the workflow goes on appending. `limit` is the page size, 1..1000, 0 for the
 * default 100 (a page may hold fewer when its keys and values pass about 1 MiB).
 *
 * Stores in `*history_json_out` (owned by the caller) the JSON the CLI prints with
 * `raftoral history --output json`: {"workflowId": ..., "entries": [entry...], "nextPageToken":
 * string, or null on the last page}, each entry {"key", "seq" (0-based, per key), "size"
 * (bytes), "value" (the value itself when its bytes are one UTF-8 JSON value, as the default
 * codecs write them; else null, and "valueBase64" holds the bytes in standard base64),
 * "committedAt" (ISO-8601, the owner's clock when it proposed the value; null when unknown),
 * "committedAtMillis" (0 when unknown), "ownerNode", "ownerTerm" (the node that owned the
 * workflow and proposed the value, and the Raft term of that ownership; 0 when unknown)}.
 *
 * Errors: #RAFTORAL_ERR_NOT_FOUND for an unknown (or pruned) workflow;
 * #RAFTORAL_ERR_INVALID_ARGUMENT for a NULL or malformed `workflow_id`, an empty `key`, a
 * `limit` above 1000, or a `page_token` that is malformed or was returned for another key.
 */
RAFTORAL_API raftoral_status_t raftoral_workflow_history(raftoral_node_t *node, const char *workflow_id,
                                                         const char *key, const char *page_token, uint32_t limit,
                                                         raftoral_buf_t *history_json_out,
                                                         raftoral_error_t **error_out);

/**
 * Terminates a running workflow with `reason` (may be NULL); a finished one is unchanged.
 * When `info_json_out` is not NULL, stores the workflow's info afterwards there (as
 * #raftoral_workflow_describe), owned by the caller.
 */
RAFTORAL_API raftoral_status_t raftoral_workflow_terminate(raftoral_node_t *node, const char *workflow_id,
                                                           const char *reason, raftoral_buf_t *info_json_out,
                                                           raftoral_error_t **error_out);

/* ---- inside a workflow ---- */

/**
 * Records `value` as the next value of `key` and stores the committed value in
 * `*committed_out` (owned by the caller). Every member computes a value; only the owner's is
 * proposed, so a member replaying the workflow receives the owner's value. `value` is copied.
 */
RAFTORAL_API raftoral_status_t raftoral_ctx_checkpoint(raftoral_ctx_t *ctx, const char *key, const uint8_t *value,
                                                       size_t value_len, raftoral_buf_t *committed_out,
                                                       raftoral_error_t **error_out);

/**
 * Calls `fn(env, output)` only on the owner and only when the next value of `key` is not
 * committed yet, records what it put in `output`, and stores the committed value in
 * `*committed_out` (owned by the caller). Without failures `fn` runs once in the whole
 * cluster. When `fn` fails, returns #RAFTORAL_ERR_CALLBACK_FAILED and the workflow should
 * return. `env` is borrowed for the duration of the call.
 */
RAFTORAL_API raftoral_status_t raftoral_ctx_checkpoint_compute(raftoral_ctx_t *ctx, const char *key,
                                                               raftoral_compute_fn fn, void *env,
                                                               raftoral_buf_t *committed_out,
                                                               raftoral_error_t **error_out);

/**
 * Stores 1 in `*terminated_out` when the workflow has been terminated, else 0. Once the node has
 * stopped (#raftoral_node_close), returns #RAFTORAL_ERR_ABORTED instead, so that a function that
 * polls it while it waits returns.
 */
RAFTORAL_API raftoral_status_t raftoral_ctx_is_terminated(raftoral_ctx_t *ctx, int32_t *terminated_out,
                                                          raftoral_error_t **error_out);

/** Stores 1 in `*owner_out` when this node owns the workflow right now, else 0; #RAFTORAL_ERR_ABORTED once the node has stopped. */
RAFTORAL_API raftoral_status_t raftoral_ctx_is_owner(raftoral_ctx_t *ctx, int32_t *owner_out,
                                                     raftoral_error_t **error_out);

/**
 * Copies the workflow's id with a NUL into `buf` of `capacity` bytes and stores its length in
 * `*len_out`. When `capacity` is too small, writes nothing, stores the needed length and
 * returns #RAFTORAL_ERR_BUFFER_TOO_SMALL.
 */
RAFTORAL_API raftoral_status_t raftoral_ctx_workflow_id(raftoral_ctx_t *ctx, char *buf, size_t capacity, size_t *len_out,
                                                        raftoral_error_t **error_out);

/** Sets the outcome of a callback to the bytes `data` (copied). Replaces an earlier outcome. */
RAFTORAL_API raftoral_status_t raftoral_output_set(raftoral_output_t *output, const uint8_t *data, size_t len,
                                                   raftoral_error_t **error_out);

/**
 * Sets the outcome of a callback to a failure of type `error_type` (e.g. an exception class
 * name) with `message` (may be NULL). Does not take ownership of the strings.
 */
RAFTORAL_API raftoral_status_t raftoral_output_fail(raftoral_output_t *output, const char *error_type,
                                                    const char *message, raftoral_error_t **error_out);

#ifdef __cplusplus
}
#endif

#endif /* RAFTORAL_H */
