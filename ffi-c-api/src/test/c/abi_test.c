/*
 * Drives the whole C ABI against a real one-node cluster, good calls and bad ones: each bad
 * call must return its error code with a message, never crash. Built and run with
 * AddressSanitizer by `make test` in this directory (Maven's integration-test phase); a forked
 * child is fork_test.c's, which runs without it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "check.h"

/* ---- workflows ---- */

static atomic_int compute_calls;
static atomic_int finalized;
static raftoral_ctx_t *_Atomic stale_ctx;

static void add_step(void *env, raftoral_output_t *output) {
  long *value = env;
  atomic_fetch_add(&compute_calls, 1);
  char text[32];
  int n = snprintf(text, sizeof text, "%ld", *value);
  raftoral_output_set(output, (const uint8_t *)text, (size_t)n, NULL);
}

/* seq: input n; three checkpoint_compute steps adding 1, 2, 3; result n + 6 as text. */
static void seq_workflow(void *env, raftoral_ctx_t *ctx, const uint8_t *input, size_t input_len,
                         raftoral_output_t *output) {
  (void)env;
  char text[32] = {0};
  memcpy(text, input, input_len < sizeof text - 1 ? input_len : sizeof text - 1);
  long value = atol(text);
  for (long i = 1; i <= 3; i++) {
    long next = value + i;
    raftoral_buf_t committed = {0};
    if (raftoral_ctx_checkpoint_compute(ctx, "step", add_step, &next, &committed, NULL) != RAFTORAL_OK) {
      return; /* aborted: the engine ignores the output */
    }
    value = atol((const char *)committed.data);
    raftoral_buf_free(&committed);
  }
  int n = snprintf(text, sizeof text, "%ld", value);
  raftoral_output_set(output, (const uint8_t *)text, (size_t)n, NULL);
}

static void fail_step(void *env, raftoral_output_t *output) {
  (void)env;
  raftoral_output_fail(output, "PaymentDeclined", "card expired", NULL);
}

/* Bad arguments from inside a workflow; a failed side effect caught and retried. */
static raftoral_status_t inside[8];
static char inside_message[256];

static void bad_args_workflow(void *env, raftoral_ctx_t *ctx, const uint8_t *input, size_t input_len,
                              raftoral_output_t *output) {
  (void)env, (void)input, (void)input_len;
  raftoral_buf_t committed = {0};
  raftoral_error_t *err = NULL;
  inside[0] = raftoral_ctx_checkpoint(ctx, NULL, (const uint8_t *)"x", 1, &committed, NULL);
  inside[1] = raftoral_ctx_checkpoint(ctx, "", (const uint8_t *)"x", 1, &committed, NULL);
  inside[2] = raftoral_ctx_checkpoint(ctx, "k", NULL, 5, &committed, NULL);
  inside[3] = raftoral_ctx_checkpoint(ctx, "k", (const uint8_t *)"x", 1, NULL, NULL);
  inside[4] = raftoral_ctx_checkpoint(ctx, "\xc3\x28", (const uint8_t *)"x", 1, &committed, NULL);
  inside[5] = raftoral_ctx_checkpoint_compute(ctx, "pay", fail_step, NULL, &committed, &err);
  snprintf(inside_message, sizeof inside_message, "%s|%s", raftoral_error_message(err),
           raftoral_error_detail(err) ? raftoral_error_detail(err) : "");
  raftoral_error_free(err);
  long retry = 7; /* the failed position is still free: the retry commits at it */
  inside[6] = raftoral_ctx_checkpoint_compute(ctx, "pay", add_step, &retry, &committed, NULL);
  char id[8];
  size_t len = 0;
  inside[7] = raftoral_ctx_workflow_id(ctx, id, sizeof id, &len, NULL); /* ids are longer than 7 */
  char result[64];
  int n = snprintf(result, sizeof result, "%.*s|%zu", (int)committed.len, (const char *)committed.data, len);
  raftoral_buf_free(&committed);
  stale_ctx = ctx;
  raftoral_output_set(output, (const uint8_t *)result, (size_t)n, NULL);
}

static void fails_workflow(void *env, raftoral_ctx_t *ctx, const uint8_t *input, size_t input_len,
                           raftoral_output_t *output) {
  (void)env, (void)ctx, (void)input, (void)input_len;
  raftoral_output_fail(output, "ValueError", "bad order", NULL);
}

static void silent_workflow(void *env, raftoral_ctx_t *ctx, const uint8_t *input, size_t input_len,
                            raftoral_output_t *output) {
  (void)env, (void)ctx, (void)input, (void)input_len, (void)output;
}

static atomic_int long_saw_terminated;

/* Ticks until terminated; the checkpoint then reports the termination. */
static void long_workflow(void *env, raftoral_ctx_t *ctx, const uint8_t *input, size_t input_len,
                          raftoral_output_t *output) {
  (void)env, (void)input, (void)input_len, (void)output;
  for (;;) {
    raftoral_buf_t committed = {0};
    raftoral_error_t *err = NULL;
    raftoral_status_t status = raftoral_ctx_checkpoint(ctx, "tick", (const uint8_t *)"t", 1, &committed, &err);
    raftoral_buf_free(&committed);
    raftoral_error_free(err);
    if (status == RAFTORAL_ERR_WORKFLOW_TERMINATED) {
      long_saw_terminated = 1;
      return;
    }
    if (status != RAFTORAL_OK) {
      return;
    }
    usleep(20 * 1000);
  }
}

static void count_finalizer(void *env) {
  (void)env;
  atomic_fetch_add(&finalized, 1);
}

/*
 * Close with a callback in flight: `sleeper` sleeps, then reads its env; the finalizer frees
 * env. A finalizer that ran under the callback would make ASan report a use after free.
 */
#define SLEEPER_MAGIC 0x5eedL

typedef struct sleeper_env {
  long magic;
  int sleep_ms;
} sleeper_env_t;

static atomic_int sleeper_entered;
static atomic_long sleeper_read;       /* what the callback read from env after its sleep */
static atomic_int sleeper_events;      /* order of: the callback returned, the finalizer ran */
static atomic_int sleeper_returned_at; /* 1-based position in sleeper_events, 0: not yet */
static atomic_int sleeper_finalized_at;

static void sleeper_workflow(void *env, raftoral_ctx_t *ctx, const uint8_t *input, size_t input_len,
                             raftoral_output_t *output) {
  (void)ctx, (void)input, (void)input_len;
  sleeper_env_t *e = env;
  atomic_fetch_add(&sleeper_entered, 1);
  usleep((useconds_t)e->sleep_ms * 1000);
  sleeper_read = e->magic; /* env must still be the caller's */
  raftoral_output_set(output, (const uint8_t *)"slept", 5, NULL);
  sleeper_returned_at = atomic_fetch_add(&sleeper_events, 1) + 1;
}

static void sleeper_finalizer(void *env) {
  sleeper_env_t *e = env;
  e->magic = 0;
  free(e);
  sleeper_finalized_at = atomic_fetch_add(&sleeper_events, 1) + 1;
}

static sleeper_env_t *new_sleeper_env(int sleep_ms) {
  sleeper_env_t *e = malloc(sizeof *e);
  e->magic = SLEEPER_MAGIC;
  e->sleep_ms = sleep_ms;
  return e;
}

static void reset_sleeper(void) {
  sleeper_entered = 0;
  sleeper_read = 0;
  sleeper_events = 0;
  sleeper_returned_at = 0;
  sleeper_finalized_at = 0;
}

/* Waits by polling is_terminated (no checkpoints): the close must make it return. */
static atomic_int poller_entered;
static atomic_int poller_status = -1;

static void poller_workflow(void *env, raftoral_ctx_t *ctx, const uint8_t *input, size_t input_len,
                            raftoral_output_t *output) {
  (void)env, (void)input, (void)input_len, (void)output;
  poller_entered = 1;
  for (int i = 0; i < 3000; i++) {
    int32_t terminated = 0;
    raftoral_status_t status = raftoral_ctx_is_terminated(ctx, &terminated, NULL);
    if (status != RAFTORAL_OK || terminated) {
      poller_status = status;
      return;
    }
    usleep(20 * 1000);
  }
}

/* Closes its own node from inside the workflow: close must not wait for this very callback. */
static atomic_int self_close_status = -1;

static void self_close_workflow(void *env, raftoral_ctx_t *ctx, const uint8_t *input, size_t input_len,
                                raftoral_output_t *output) {
  (void)ctx, (void)input, (void)input_len, (void)output;
  self_close_status = raftoral_node_close((raftoral_node_t *)env, NULL);
}

/* Runs raftoral_node_start on a thread of its own (a start blocked on peers that are down). */
typedef struct start_call {
  raftoral_node_t *node;
  raftoral_status_t status;
  char message[512];
} start_call_t;

static void *start_on_thread(void *arg) {
  start_call_t *call = arg;
  raftoral_error_t *err = NULL;
  call->status = raftoral_node_start(call->node, &err);
  snprintf(call->message, sizeof call->message, "%s", raftoral_error_message(err));
  raftoral_error_free(err);
  return NULL;
}

/* Awaits a workflow with "forever" (INT64_MAX) on a thread of its own. */
typedef struct await_call {
  raftoral_node_t *node;
  const char *workflow_id;
  raftoral_status_t status;
} await_call_t;

static void *await_forever(void *arg) {
  await_call_t *call = arg;
  raftoral_buf_t result = {0};
  raftoral_error_t *err = NULL;
  call->status = raftoral_workflow_await(call->node, call->workflow_id, INT64_MAX, &result, &err);
  raftoral_buf_free(&result);
  raftoral_error_free(err);
  return NULL;
}

/* ---- helpers ---- */

static char *start(raftoral_node_t *node, const char *type, const char *input, const char *id) {
  raftoral_buf_t out = {0};
  CHECK_OK(raftoral_workflow_start(node, type, 1, (const uint8_t *)input, strlen(input), id, &out, &err_));
  CHECK(out.data != NULL && out.len > 0 && out.data[out.len] == '\0');
  char *copy = strdup((const char *)out.data);
  raftoral_buf_free(&out);
  CHECK(out.data == NULL && out.len == 0);
  return copy;
}

/* Polls until `call` fails with a message containing `text` (at most ~20 s); returns whether it did. */
#define EVENTUALLY_FAILS_WITH(call, text)                                                        \
  ({                                                                                             \
    int seen_ = 0;                                                                               \
    for (int i_ = 0; i_ < 2000 && !seen_; i_++) {                                                \
      raftoral_error_t *err_ = NULL;                                                             \
      if ((call) != RAFTORAL_OK && strstr(raftoral_error_message(err_), (text)) != NULL) {       \
        seen_ = 1;                                                                               \
      } else {                                                                                   \
        usleep(10 * 1000);                                                                       \
      }                                                                                          \
      raftoral_error_free(err_);                                                                 \
    }                                                                                            \
    seen_;                                                                                       \
  })

static int contains(const raftoral_buf_t *buf, const char *text) {
  return buf->data != NULL && strstr((const char *)buf->data, text) != NULL;
}

int main(void) {
  raftoral_buf_t buf = {0};
  raftoral_node_t *node = NULL;

  /* Without a JVM: versions, error objects, buffers, calls before init. */
  CHECK(raftoral_abi_version() == RAFTORAL_ABI_VERSION);
  CHECK(raftoral_error_code(NULL) == RAFTORAL_ERR_INVALID_ARGUMENT);
  CHECK(strcmp(raftoral_error_message(NULL), "") == 0);
  CHECK(raftoral_error_detail(NULL) == NULL);
  raftoral_error_free(NULL);
  raftoral_buf_free(NULL);
  raftoral_buf_free(&buf);
  CHECK_FAILS(raftoral_node_create("{}", &node, &err_), RAFTORAL_ERR_NOT_INITIALIZED, "raftoral_init");
  CHECK(raftoral_node_create("{}", &node, NULL) == RAFTORAL_ERR_NOT_INITIALIZED); /* error_out is optional */
  CHECK_FAILS(raftoral_shutdown(&err_), RAFTORAL_ERR_NOT_INITIALIZED, "raftoral_init");
  raftoral_init_options_t options = {0};
  CHECK_FAILS(raftoral_init(&options, &err_), RAFTORAL_ERR_INVALID_ARGUMENT, "struct_size");
  options.struct_size = sizeof options;
  options.java_home = "/nonexistent/jdk";
  CHECK_FAILS(raftoral_init(&options, &err_), RAFTORAL_ERR_JVM, "/nonexistent/jdk");

  /* Options of an older, shorter struct: only struct_size bytes are read (ASan catches more), the
     rest takes its default. */
  size_t old_size = offsetof(raftoral_init_options_t, class_path);
  raftoral_init_options_t *old_options = malloc(old_size);
  memset(old_options, 0, old_size);
  old_options->struct_size = old_size;
  CHECK_OK(raftoral_init(old_options, &err_));
  free(old_options);
  /* Init is idempotent. */
  CHECK_OK(raftoral_init(NULL, &err_));


  /* Node configuration errors. */
  CHECK_FAILS(raftoral_node_create(NULL, &node, &err_), RAFTORAL_ERR_INVALID_ARGUMENT, "config_json must not be NULL");
  CHECK_FAILS(raftoral_node_create("{not json", &node, &err_), RAFTORAL_ERR_INVALID_ARGUMENT, "not valid JSON");
  CHECK_FAILS(raftoral_node_create("[1]", &node, &err_), RAFTORAL_ERR_INVALID_ARGUMENT, "must be a JSON object");
  CHECK_FAILS(raftoral_node_create("{\"nope\": 1}", &node, &err_), RAFTORAL_ERR_INVALID_ARGUMENT, "'nope'");
  CHECK_FAILS(raftoral_node_create("{\"node_id\": -3}", &node, &err_), RAFTORAL_ERR_INVALID_ARGUMENT, "node_id");
  CHECK_FAILS(raftoral_node_create("{\"cluster_id\": \"\xff\xfe\"}", &node, &err_), RAFTORAL_ERR_INVALID_ARGUMENT,
              "not valid UTF-8");
  CHECK_FAILS(raftoral_node_create("{}", NULL, &err_), RAFTORAL_ERR_INVALID_ARGUMENT, "node_out");

  char config[256];
  snprintf(config, sizeof config,
           "{\"node_id\": 1, \"raft_address\": \"127.0.0.1:%d\", \"api_address\": \"127.0.0.1:0\","
           " \"http_address\": \"127.0.0.1:0\", \"payload_limit_bytes\": 1024, \"election_timeout_ms\": 300}",
           free_port());
  CHECK_OK(raftoral_node_create(config, &node, &err_));
  CHECK(node != NULL);

  /* Registration, good and bad. */
  CHECK_OK(raftoral_node_register_workflow(node, "seq", 1, RAFTORAL_MODE_HOT_STANDBY, seq_workflow, NULL,
                                           count_finalizer, &err_));
  CHECK_OK(raftoral_node_register_workflow(node, "bad_args", 1, RAFTORAL_MODE_OWNER_ONLY, bad_args_workflow, NULL,
                                           count_finalizer, &err_));
  CHECK_OK(raftoral_node_register_workflow(node, "fails", 1, 0, fails_workflow, NULL, count_finalizer, &err_));
  CHECK_OK(raftoral_node_register_workflow(node, "silent", 1, 0, silent_workflow, NULL, NULL, &err_));
  CHECK_OK(raftoral_node_register_workflow(node, "sleeper", 1, 0, sleeper_workflow, new_sleeper_env(1500),
                                           sleeper_finalizer, &err_));
  CHECK_OK(raftoral_node_register_workflow(node, "poller", 1, 0, poller_workflow, NULL, NULL, &err_));
  CHECK_FAILS(raftoral_node_register_workflow(node, "seq", 1, 0, seq_workflow, NULL, count_finalizer, &err_),
              RAFTORAL_ERR_ALREADY_REGISTERED, "already registered");
  CHECK_FAILS(raftoral_node_register_workflow(node, NULL, 1, 0, seq_workflow, NULL, NULL, &err_),
              RAFTORAL_ERR_INVALID_ARGUMENT, "type must not be NULL");
  CHECK_FAILS(raftoral_node_register_workflow(node, "x", 1, 0, NULL, NULL, NULL, &err_), RAFTORAL_ERR_INVALID_ARGUMENT,
              "fn must not be NULL");
  CHECK_FAILS(raftoral_node_register_workflow(node, "x", 0, 0, seq_workflow, NULL, NULL, &err_),
              RAFTORAL_ERR_INVALID_ARGUMENT, "version");
  CHECK_FAILS(raftoral_node_register_workflow(node, "x", 1, 7, seq_workflow, NULL, NULL, &err_),
              RAFTORAL_ERR_INVALID_ARGUMENT, "mode");
  /* Registration with options (raftoral_workflow_options_t): NULL is the defaults; a negative
     retention, an unknown mode or a struct_size too small to be one is refused, registering
     nothing; an older, shorter struct is read only up to its struct_size. */
  raftoral_workflow_options_t kept = {sizeof kept, RAFTORAL_MODE_OWNER_ONLY, 2};
  CHECK_OK(raftoral_node_register_workflow_ex(node, "kept", 1, &kept, seq_workflow, NULL, NULL, &err_));
  CHECK_OK(raftoral_node_register_workflow_ex(node, "kept", 2, NULL, seq_workflow, NULL, NULL, &err_));
  CHECK_FAILS(raftoral_node_register_workflow_ex(node, "kept", 1, &kept, seq_workflow, NULL, NULL, &err_),
              RAFTORAL_ERR_ALREADY_REGISTERED, "already registered");
  raftoral_workflow_options_t negative = {sizeof negative, RAFTORAL_MODE_HOT_STANDBY, -1};
  CHECK_FAILS(raftoral_node_register_workflow_ex(node, "x", 1, &negative, seq_workflow, NULL, NULL, &err_),
              RAFTORAL_ERR_INVALID_ARGUMENT, "keep_last_per_key must be >= 0");
  raftoral_workflow_options_t lowest = {sizeof lowest, RAFTORAL_MODE_HOT_STANDBY, INT64_MIN};
  CHECK_FAILS(raftoral_node_register_workflow_ex(node, "x", 1, &lowest, seq_workflow, NULL, NULL, &err_),
              RAFTORAL_ERR_INVALID_ARGUMENT, "keep_last_per_key must be >= 0");
  raftoral_workflow_options_t bad_mode = {sizeof bad_mode, 9, 2};
  CHECK_FAILS(raftoral_node_register_workflow_ex(node, "x", 1, &bad_mode, seq_workflow, NULL, NULL, &err_),
              RAFTORAL_ERR_INVALID_ARGUMENT, "mode");
  raftoral_workflow_options_t too_short = {3, RAFTORAL_MODE_HOT_STANDBY, 2};
  CHECK_FAILS(raftoral_node_register_workflow_ex(node, "x", 1, &too_short, seq_workflow, NULL, NULL, &err_),
              RAFTORAL_ERR_INVALID_ARGUMENT, "struct_size");
  too_short.struct_size = 0;
  CHECK_FAILS(raftoral_node_register_workflow_ex(node, "x", 1, &too_short, seq_workflow, NULL, NULL, &err_),
              RAFTORAL_ERR_INVALID_ARGUMENT, "struct_size");
  CHECK_FAILS(raftoral_node_register_workflow_ex(node, "x", 1, &kept, NULL, NULL, NULL, &err_),
              RAFTORAL_ERR_INVALID_ARGUMENT, "fn must not be NULL");
  CHECK_FAILS(raftoral_node_register_workflow_ex(NULL, "x", 1, &kept, seq_workflow, NULL, NULL, &err_),
              RAFTORAL_ERR_INVALID_HANDLE, "NULL");
  raftoral_workflow_options_t older = {offsetof(raftoral_workflow_options_t, keep_last_per_key),
                                       RAFTORAL_MODE_HOT_STANDBY, -5 /* past struct_size: never read */};
  CHECK_OK(raftoral_node_register_workflow_ex(node, "kept", 3, &older, seq_workflow, NULL, NULL, &err_));
  /* The refused registrations left "x" v1 free; a retention as large as INT64_MAX keeps everything. */
  raftoral_workflow_options_t everything = {sizeof everything, RAFTORAL_MODE_HOT_STANDBY, INT64_MAX};
  CHECK_OK(raftoral_node_register_workflow_ex(node, "x", 1, &everything, seq_workflow, NULL, NULL, &err_));
  CHECK_FAILS(raftoral_node_id(node, &(uint64_t){0}, &err_), RAFTORAL_ERR_NODE_CLOSED, "raftoral_node_start");

  CHECK_OK(raftoral_node_start(node, &err_));
  CHECK_FAILS(raftoral_node_start(node, &err_), RAFTORAL_ERR_INVALID_ARGUMENT, "started already");
  /* Registering after start works too. */
  CHECK_OK(raftoral_node_register_workflow(node, "long", 1, 0, long_workflow, NULL, count_finalizer, &err_));

  uint64_t id = 0;
  CHECK_OK(raftoral_node_id(node, &id, &err_));
  CHECK(id == 1);
  CHECK_FAILS(raftoral_node_id(node, NULL, &err_), RAFTORAL_ERR_INVALID_ARGUMENT, "id_out");

  /* An undersized buffer: nothing written, the needed length reported. */
  char small[4] = "abc";
  size_t len = 0;
  CHECK_FAILS(raftoral_node_api_address(node, small, sizeof small, &len, &err_), RAFTORAL_ERR_BUFFER_TOO_SMALL,
              "needed");
  CHECK(strcmp(small, "abc") == 0 && len > sizeof small);
  char address[64];
  CHECK_OK(raftoral_node_api_address(node, address, sizeof address, &len, &err_));
  CHECK(strncmp(address, "127.0.0.1:", 10) == 0 && strlen(address) == len);
  /* The HTTP port's bound address (its port was 0), the same way. */
  CHECK_FAILS(raftoral_node_http_address(node, small, sizeof small, &len, &err_), RAFTORAL_ERR_BUFFER_TOO_SMALL, "needed");
  char http[64];
  CHECK_OK(raftoral_node_http_address(node, http, sizeof http, &len, &err_));
  CHECK(strncmp(http, "127.0.0.1:", 10) == 0 && strlen(http) == len && strcmp(http + len - 2, ":0") != 0);
  CHECK_FAILS(raftoral_node_http_address(NULL, http, sizeof http, &len, &err_), RAFTORAL_ERR_INVALID_HANDLE, "NULL");

  /* A workflow with side effects: each compute runs once. */
  char *seq_id = start(node, "seq", "5", NULL);
  CHECK_OK(raftoral_workflow_await(node, seq_id, 30000, &buf, &err_));
  CHECK(buf.len == 2 && memcmp(buf.data, "11", 2) == 0);
  raftoral_buf_free(&buf);
  CHECK(compute_calls == 3);
  /* A type registered with options runs as registered (owner only here). */
  char *kept_id = start(node, "kept", "1", NULL);
  CHECK_OK(raftoral_workflow_await(node, kept_id, 30000, &buf, &err_));
  CHECK(buf.len == 1 && buf.data[0] == '7');
  raftoral_buf_free(&buf);
  CHECK_OK(raftoral_workflow_describe(node, seq_id, &buf, &err_));
  CHECK(contains(&buf, "\"status\":\"COMPLETED\"") && contains(&buf, "\"checkpointCount\":3"));
  raftoral_buf_free(&buf);

  /* A forked child is checked by fork_test.c, without ASan: GCC 12's ASan takes no allocator
     locks around fork(), so a child forked while a JVM thread held one hangs in its first malloc. */

  /* "Forever" is INT64_MAX: the result of a finished workflow at once, never an overflow. */
  CHECK_OK(raftoral_workflow_await(node, seq_id, INT64_MAX, &buf, &err_));
  CHECK(buf.len == 2 && memcmp(buf.data, "11", 2) == 0);
  raftoral_buf_free(&buf);

  /* Idempotent start by id; the same id with another input is refused. */
  char *fixed = start(node, "seq", "1", "order-42");
  char *again = start(node, "seq", "1", "order-42");
  CHECK(strcmp(fixed, "order-42") == 0 && strcmp(again, "order-42") == 0);
  CHECK_FAILS(raftoral_workflow_start(node, "seq", 1, (const uint8_t *)"2", 1, "order-42", &buf, &err_),
              RAFTORAL_ERR_ALREADY_EXISTS, "order-42");
  CHECK_OK(raftoral_workflow_await(node, "order-42", 30000, &buf, &err_));
  CHECK(buf.len == 1 && buf.data[0] == '7');
  raftoral_buf_free(&buf);

  /* Bad arguments inside a workflow, and a failed side effect retried at the same position. */
  char *bad_id = start(node, "bad_args", "", NULL);
  CHECK_OK(raftoral_workflow_await(node, bad_id, 30000, &buf, &err_));
  char expected[64];
  snprintf(expected, sizeof expected, "7|%zu", strlen(bad_id));
  CHECK(strcmp((const char *)buf.data, expected) == 0);
  raftoral_buf_free(&buf);
  CHECK(inside[0] == RAFTORAL_ERR_INVALID_ARGUMENT && inside[1] == RAFTORAL_ERR_INVALID_ARGUMENT);
  CHECK(inside[2] == RAFTORAL_ERR_INVALID_ARGUMENT && inside[3] == RAFTORAL_ERR_INVALID_ARGUMENT);
  CHECK(inside[4] == RAFTORAL_ERR_INVALID_ARGUMENT);
  CHECK(inside[5] == RAFTORAL_ERR_CALLBACK_FAILED && strcmp(inside_message, "card expired|PaymentDeclined") == 0);
  CHECK(inside[6] == RAFTORAL_OK && inside[7] == RAFTORAL_ERR_BUFFER_TOO_SMALL);
  /* A context is valid only during its callback. */
  CHECK_FAILS(raftoral_ctx_checkpoint(stale_ctx, "k", (const uint8_t *)"x", 1, &buf, &err_),
              RAFTORAL_ERR_INVALID_HANDLE, "no longer valid");

  /* Failures: the workflow's own error type and message; no output at all. */
  char *failed = start(node, "fails", "", NULL);
  raftoral_error_t *err = NULL;
  CHECK(raftoral_workflow_await(node, failed, 30000, &buf, &err) == RAFTORAL_ERR_WORKFLOW_FAILED);
  CHECK(strcmp(raftoral_error_message(err), "bad order") == 0 && strcmp(raftoral_error_detail(err), "ValueError") == 0);
  CHECK(buf.data == NULL); /* outputs of a failed call are left unmodified */
  raftoral_error_free(err);
  char *silent = start(node, "silent", "", NULL);
  err = NULL;
  CHECK(raftoral_workflow_await(node, silent, 30000, &buf, &err) == RAFTORAL_ERR_WORKFLOW_FAILED);
  CHECK(strcmp(raftoral_error_detail(err), "raftoral.NoOutput") == 0);
  raftoral_error_free(err);

  /* Deadlines and termination. */
  char *running = start(node, "long", "", NULL);
  CHECK_FAILS(raftoral_workflow_await(node, running, 200, &buf, &err_), RAFTORAL_ERR_TIMEOUT, running);
  await_call_t forever = {node, running, -1};
  pthread_t forever_thread;
  CHECK(pthread_create(&forever_thread, NULL, await_forever, &forever) == 0);
  usleep(300 * 1000); /* lets the await start waiting; an await that starts later passes too */
  CHECK_OK(raftoral_workflow_terminate(node, running, "operator says stop", &buf, &err_));
  pthread_join(forever_thread, NULL);
  CHECK(forever.status == RAFTORAL_ERR_WORKFLOW_TERMINATED);
  CHECK(contains(&buf, "\"status\":\"TERMINATED\""));
  raftoral_buf_free(&buf);
  CHECK_FAILS(raftoral_workflow_await(node, running, 30000, &buf, &err_), RAFTORAL_ERR_WORKFLOW_TERMINATED,
              "operator says stop");
  for (int i = 0; i < 500 && !long_saw_terminated; i++) {
    usleep(10 * 1000);
  }
  CHECK(long_saw_terminated);

  /* Listing. */
  CHECK_OK(raftoral_workflow_list(node, "{\"statuses\": [\"FAILED\"], \"limit\": 10}", &buf, &err_));
  CHECK(contains(&buf, failed) && contains(&buf, silent) && !contains(&buf, seq_id));
  raftoral_buf_free(&buf);
  CHECK_OK(raftoral_workflow_list(node, NULL, &buf, &err_));
  CHECK(contains(&buf, seq_id) && contains(&buf, "\"nextPageToken\":null"));
  raftoral_buf_free(&buf);
  CHECK_FAILS(raftoral_workflow_list(node, "{\"statuses\": [\"SLEEPING\"]}", &buf, &err_),
              RAFTORAL_ERR_INVALID_ARGUMENT, "SLEEPING");
  CHECK_FAILS(raftoral_workflow_list(node, "{\"limit\": 0}", &buf, &err_), RAFTORAL_ERR_INVALID_ARGUMENT, "limit");

  /* History: the committed values of seq_id's key "step" ("6", "8", "11": JSON numbers) with when
     and under whom they were committed, two to a page; the page token leads to the rest. */
  CHECK_OK(raftoral_workflow_history(node, seq_id, "step", NULL, 2, &buf, &err_));
  CHECK(contains(&buf, "\"key\":\"step\",\"seq\":0,\"size\":1,\"value\":6,")
        && contains(&buf, "\"seq\":1,\"size\":1,\"value\":8,") && !contains(&buf, "\"seq\":2")
        && contains(&buf, "\"ownerNode\":1,") && !contains(&buf, "\"committedAtMillis\":0,"));
  const char *token_at = strstr((const char *)buf.data, "\"nextPageToken\":\"");
  CHECK(token_at != NULL);
  char token[256] = {0};
  if (token_at != NULL) {
    token_at += strlen("\"nextPageToken\":\"");
    size_t token_len = strcspn(token_at, "\"");
    CHECK(token_len > 0 && token_len < sizeof token);
    memcpy(token, token_at, token_len < sizeof token ? token_len : sizeof token - 1);
  }
  raftoral_buf_free(&buf);
  CHECK_OK(raftoral_workflow_history(node, seq_id, "step", token, 2, &buf, &err_));
  CHECK(contains(&buf, "\"seq\":2,\"size\":2,\"value\":11,") && !contains(&buf, "\"seq\":1")
        && contains(&buf, "\"nextPageToken\":null"));
  raftoral_buf_free(&buf);
  /* Every key (limit 0: the default page of 100) holds the same three in commit order. */
  CHECK_OK(raftoral_workflow_history(node, seq_id, NULL, NULL, 0, &buf, &err_));
  const char *at6 = strstr((const char *)buf.data, "\"value\":6,");
  const char *at8 = strstr((const char *)buf.data, "\"value\":8,");
  const char *at11 = strstr((const char *)buf.data, "\"value\":11,");
  CHECK(at6 != NULL && at8 != NULL && at11 != NULL && at6 < at8 && at8 < at11);
  CHECK(contains(&buf, "\"nextPageToken\":null"));
  raftoral_buf_free(&buf);
  /* A key the workflow never wrote: an empty history. */
  CHECK_OK(raftoral_workflow_history(node, seq_id, "never", NULL, 0, &buf, &err_));
  CHECK(contains(&buf, "\"entries\":[]") && contains(&buf, "\"nextPageToken\":null"));
  raftoral_buf_free(&buf);
  /* Bad history calls: typed errors, no output, and the node keeps answering. */
  CHECK_FAILS(raftoral_workflow_history(NULL, seq_id, NULL, NULL, 0, &buf, &err_), RAFTORAL_ERR_INVALID_HANDLE, "NULL");
  CHECK_FAILS(raftoral_workflow_history(node, NULL, NULL, NULL, 0, &buf, &err_), RAFTORAL_ERR_INVALID_ARGUMENT,
              "workflow_id");
  CHECK_FAILS(raftoral_workflow_history(node, seq_id, NULL, NULL, 0, NULL, &err_), RAFTORAL_ERR_INVALID_ARGUMENT,
              "history_json_out");
  CHECK_FAILS(raftoral_workflow_history(node, "no-such-workflow", NULL, NULL, 0, &buf, &err_), RAFTORAL_ERR_NOT_FOUND,
              "no-such-workflow");
  CHECK_FAILS(raftoral_workflow_history(node, seq_id, NULL, NULL, 1001, &buf, &err_), RAFTORAL_ERR_INVALID_ARGUMENT,
              "limit");
  CHECK_FAILS(raftoral_workflow_history(node, seq_id, NULL, NULL, UINT32_MAX, &buf, &err_),
              RAFTORAL_ERR_INVALID_ARGUMENT, "4294967295");
  CHECK_FAILS(raftoral_workflow_history(node, seq_id, "", NULL, 0, &buf, &err_), RAFTORAL_ERR_INVALID_ARGUMENT,
              "key must not be empty");
  CHECK_FAILS(raftoral_workflow_history(node, seq_id, "\xe2\x82", NULL, 0, &buf, &err_), RAFTORAL_ERR_INVALID_ARGUMENT,
              "UTF-8");
  CHECK_FAILS(raftoral_workflow_history(node, seq_id, NULL, "not a token", 0, &buf, &err_),
              RAFTORAL_ERR_INVALID_ARGUMENT, "malformed page token");
  CHECK_FAILS(raftoral_workflow_history(node, seq_id, NULL, token, 0, &buf, &err_), RAFTORAL_ERR_INVALID_ARGUMENT,
              "another key");
  CHECK(buf.data == NULL);

  /* Bad client calls. */
  CHECK_FAILS(raftoral_workflow_start(node, "nope", 1, NULL, 0, NULL, &buf, &err_), RAFTORAL_ERR_NOT_REGISTERED,
              "nope");
  CHECK_FAILS(raftoral_workflow_start(node, "seq", 1, NULL, 3, NULL, &buf, &err_), RAFTORAL_ERR_INVALID_ARGUMENT,
              "input is NULL");
  CHECK_FAILS(raftoral_workflow_start(node, "seq", 1, NULL, 0, NULL, NULL, &err_), RAFTORAL_ERR_INVALID_ARGUMENT,
              "workflow_id_out");
  static uint8_t big[2048];
  CHECK_FAILS(raftoral_workflow_start(node, "seq", 1, big, sizeof big, NULL, &buf, &err_),
              RAFTORAL_ERR_PAYLOAD_TOO_LARGE, "1024");
  /* A start names the id it used in its error's detail, generated when none was given, so that the
     caller can retry it: a start by id is idempotent. A generated id names its execution group:
     g<index>-<uuid>, here group 0, the only one. */
  err = NULL;
  CHECK(raftoral_workflow_start(node, "nope", 1, NULL, 0, NULL, &buf, &err) == RAFTORAL_ERR_NOT_REGISTERED);
  CHECK(raftoral_error_detail(err) != NULL && strncmp(raftoral_error_detail(err), "g0-", 3) == 0
        && strlen(raftoral_error_detail(err)) == 3 + 36);
  raftoral_error_free(err);
  err = NULL;
  CHECK(raftoral_workflow_start(node, "nope", 1, NULL, 0, "order-43", &buf, &err) == RAFTORAL_ERR_NOT_REGISTERED);
  CHECK(raftoral_error_detail(err) != NULL && strcmp(raftoral_error_detail(err), "order-43") == 0);
  raftoral_error_free(err);
  /* Strings are limited to 1 MiB - 1 bytes; a longer one is refused with a message that says so. */
  size_t huge_len = (1 << 20) + 10;
  char *huge = malloc(huge_len + 1);
  memset(huge, 'w', huge_len);
  huge[huge_len] = '\0';
  CHECK_FAILS(raftoral_workflow_describe(node, huge, &buf, &err_), RAFTORAL_ERR_INVALID_ARGUMENT,
              "longer than the limit of 1048575 bytes");
  huge[(1 << 20) - 1] = '\0'; /* at the limit: read, then refused by the id rule */
  CHECK_FAILS(raftoral_workflow_describe(node, huge, &buf, &err_), RAFTORAL_ERR_INVALID_ARGUMENT, "512 characters");
  free(huge);
  CHECK_FAILS(raftoral_workflow_describe(node, "no-such-workflow", &buf, &err_), RAFTORAL_ERR_NOT_FOUND,
              "no-such-workflow");
  CHECK_FAILS(raftoral_workflow_describe(node, "\xe2\x82", &buf, &err_), RAFTORAL_ERR_INVALID_ARGUMENT, "UTF-8");
  CHECK_FAILS(raftoral_workflow_await(node, seq_id, -1, &buf, &err_), RAFTORAL_ERR_INVALID_ARGUMENT, "timeout_ms");
  CHECK_FAILS(raftoral_workflow_terminate(node, NULL, "x", NULL, &err_), RAFTORAL_ERR_INVALID_ARGUMENT,
              "workflow_id");

  /* Wrong handles: NULL, forged, of another kind. */
  CHECK_FAILS(raftoral_workflow_describe(NULL, seq_id, &buf, &err_), RAFTORAL_ERR_INVALID_HANDLE, "NULL");
  CHECK_FAILS(raftoral_workflow_describe((raftoral_node_t *)(uintptr_t)0x1234, seq_id, &buf, &err_),
              RAFTORAL_ERR_INVALID_HANDLE, "not a node handle");
  CHECK_FAILS(raftoral_ctx_is_owner((raftoral_ctx_t *)node, &(int32_t){0}, &err_), RAFTORAL_ERR_INVALID_HANDLE,
              "not a ctx handle");
  CHECK_FAILS(raftoral_output_set((raftoral_output_t *)stale_ctx, NULL, 0, &err_), RAFTORAL_ERR_INVALID_HANDLE,
              "not a output handle");

  /* Close with callbacks in flight: each returns first (the poller learns from is_terminated that
     the node stopped), then its finalizer runs, then close returns. */
  reset_sleeper();
  char *sleeping = start(node, "sleeper", "", NULL);
  char *polling = start(node, "poller", "", NULL);
  for (int i = 0; i < 3000 && !(sleeper_entered && poller_entered); i++) {
    usleep(10 * 1000);
  }
  CHECK(sleeper_entered == 1 && poller_entered);
  /* Close: finalizers run once per registered type with one; the handle is gone. */
  CHECK_OK(raftoral_node_close(node, &err_));
  CHECK(sleeper_read == SLEEPER_MAGIC);
  CHECK(sleeper_returned_at == 1 && sleeper_finalized_at == 2);
  CHECK(poller_status == RAFTORAL_ERR_ABORTED);
  CHECK(finalized == 4);
  CHECK_FAILS(raftoral_workflow_describe(node, seq_id, &buf, &err_), RAFTORAL_ERR_INVALID_HANDLE, "no longer valid");
  CHECK_FAILS(raftoral_node_close(node, &err_), RAFTORAL_ERR_INVALID_HANDLE, "no longer valid");

  /* A callback still running after the close grace: close says so with RAFTORAL_ERR_TIMEOUT, and the
     finalizer runs only once the callback has returned. */
  snprintf(config, sizeof config, "{\"node_id\": 1, \"raft_address\": \"127.0.0.1:%d\", \"close_grace_ms\": 200}",
           free_port());
  raftoral_node_t *graced = NULL;
  CHECK_OK(raftoral_node_create(config, &graced, &err_));
  CHECK_OK(raftoral_node_register_workflow(graced, "sleeper", 1, 0, sleeper_workflow, new_sleeper_env(3000),
                                           sleeper_finalizer, &err_));
  CHECK_FAILS(raftoral_node_create("{\"close_grace_ms\": -1}", &(raftoral_node_t *){NULL}, &err_), RAFTORAL_ERR_INVALID_ARGUMENT,
              "close_grace_ms");
  CHECK_OK(raftoral_node_start(graced, &err_));
  reset_sleeper();
  char *overdue = start(graced, "sleeper", "", NULL);
  for (int i = 0; i < 3000 && !sleeper_entered; i++) {
    usleep(10 * 1000);
  }
  CHECK(sleeper_entered == 1);
  CHECK_FAILS(raftoral_node_close(graced, &err_), RAFTORAL_ERR_TIMEOUT, "still running");
  CHECK(sleeper_finalized_at == 0);
  for (int i = 0; i < 3000 && !sleeper_finalized_at; i++) {
    usleep(10 * 1000);
  }
  CHECK(sleeper_read == SLEEPER_MAGIC && sleeper_returned_at == 1 && sleeper_finalized_at == 2);
  CHECK_FAILS(raftoral_node_close(graced, &err_), RAFTORAL_ERR_INVALID_HANDLE, "no longer valid");

  /* A workflow closes its own node: close does not wait for the callback it is called from. */
  snprintf(config, sizeof config, "{\"node_id\": 1, \"raft_address\": \"127.0.0.1:%d\"}", free_port());
  raftoral_node_t *closing = NULL;
  CHECK_OK(raftoral_node_create(config, &closing, &err_));
  CHECK_OK(raftoral_node_register_workflow(closing, "self_close", 1, 0, self_close_workflow, closing, NULL, &err_));
  CHECK_OK(raftoral_node_start(closing, &err_));
  char *self_closed = start(closing, "self_close", "", NULL);
  for (int i = 0; i < 3000 && self_close_status == -1; i++) {
    usleep(10 * 1000);
  }
  CHECK(self_close_status == RAFTORAL_OK);

  /* A bootstrap whose peers are down: start returns only with a quorum, else a typed timeout; the
     node is stopped then, and its finalizers run at close. */
  snprintf(config, sizeof config,
           "{\"node_id\": 1, \"members\": {\"1\": \"127.0.0.1:%d\", \"2\": \"127.0.0.1:%d\","
           " \"3\": \"127.0.0.1:%d\"}, \"start_timeout_ms\": 3000, \"election_timeout_ms\": 300}",
           free_port(), free_port(), free_port());
  raftoral_node_t *alone = NULL;
  CHECK_OK(raftoral_node_create(config, &alone, &err_));
  CHECK_OK(raftoral_node_register_workflow(alone, "seq", 1, 0, seq_workflow, NULL, count_finalizer, &err_));
  CHECK_FAILS(raftoral_node_start(alone, &err_), RAFTORAL_ERR_TIMEOUT, "quorum");
  CHECK_FAILS(raftoral_workflow_describe(alone, "x", &buf, &err_), RAFTORAL_ERR_NODE_CLOSED, "quorum");
  CHECK_OK(raftoral_node_close(alone, &err_));
  CHECK(finalized == 5);

  /* A close while a start waits for its peers: the start stops and fails with NODE_CLOSED. */
  snprintf(config, sizeof config,
           "{\"node_id\": 1, \"members\": {\"1\": \"127.0.0.1:%d\", \"2\": \"127.0.0.1:%d\","
           " \"3\": \"127.0.0.1:%d\"}, \"start_timeout_ms\": 600000, \"election_timeout_ms\": 300}",
           free_port(), free_port(), free_port());
  CHECK_OK(raftoral_node_create(config, &alone, &err_));
  start_call_t starting = {alone, -1, ""};
  pthread_t start_thread;
  CHECK(pthread_create(&start_thread, NULL, start_on_thread, &starting) == 0);
  CHECK(EVENTUALLY_FAILS_WITH(raftoral_node_id(alone, &(uint64_t){0}, &err_), "starting"));
  CHECK_OK(raftoral_node_close(alone, &err_));
  pthread_join(start_thread, NULL);
  CHECK(starting.status == RAFTORAL_ERR_NODE_CLOSED && strstr(starting.message, "closed while it started") != NULL);

  /* A second node in the same process, closed by shutdown. */
  snprintf(config, sizeof config, "{\"node_id\": 1, \"raft_address\": \"127.0.0.1:%d\"}", free_port());
  raftoral_node_t *second = NULL;
  CHECK_OK(raftoral_node_create(config, &second, &err_));
  CHECK_OK(raftoral_node_register_workflow(second, "seq", 1, 0, seq_workflow, NULL, count_finalizer, &err_));
  CHECK_OK(raftoral_node_start(second, &err_));
  char none[8] = "x";
  CHECK_OK(raftoral_node_http_address(second, none, sizeof none, &len, &err_)); /* it serves no HTTP: "" */
  CHECK(len == 0 && none[0] == '\0');
  char *last = start(second, "seq", "0", NULL);
  CHECK_OK(raftoral_workflow_await(second, last, 30000, &buf, &err_));
  CHECK(buf.len == 1 && buf.data[0] == '6');
  raftoral_buf_free(&buf);

  CHECK_OK(raftoral_shutdown(&err_));
  CHECK(finalized == 6);
  CHECK_OK(raftoral_shutdown(&err_));
  CHECK_FAILS(raftoral_workflow_describe(second, last, &buf, &err_), RAFTORAL_ERR_SHUT_DOWN, "raftoral_shutdown");
  CHECK_FAILS(raftoral_init(NULL, &err_), RAFTORAL_ERR_SHUT_DOWN, "once");

  free(seq_id), free(fixed), free(again), free(bad_id), free(failed), free(silent), free(running), free(last);
  free(kept_id);
  free(sleeping), free(polling), free(overdue), free(self_closed);
  printf("abi_test: %d checks passed\n", checks);
  return 0;
}
