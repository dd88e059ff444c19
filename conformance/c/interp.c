/*
 * The C entry point of the conformance suite: one node of a cluster, embedded in this process
 * through libraftoral.so (include/raftoral.h), with the instruction-set interpreter registered
 * as its workflows (conformance/README.md).
 *
 * Usage: conformance-c CONFIG_JSON, where CONFIG_JSON is the node's raftoral_node_create
 * configuration. $CONFORMANCE_LOG names the side-effect log, $CONFORMANCE_NODE this node's
 * label. Once the node is started it prints {"event":"ready",...}; then it answers the driver's
 * requests, one JSON object per line on stdin, each with one JSON line on stdout, in any order
 * (each request runs on its own thread).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "raftoral.h"

/* How long wait_terminated waits at most before it fails the workflow. */
#define WAIT_TERMINATED_MS 120000

static const char *node_label = "?";
static int log_fd = -1;
static FILE *protocol;
static pthread_mutex_t protocol_lock = PTHREAD_MUTEX_INITIALIZER;
static raftoral_node_t *node;

/* The C ABI's status names without prefix, indexed by status code (ErrorCodeTablesTest checks them). */
static const char *const CODES[] = {
    "OK", "INVALID_ARGUMENT", "INVALID_HANDLE", "NOT_INITIALIZED", "SHUT_DOWN", "BUFFER_TOO_SMALL", "NOT_FOUND",
    "ALREADY_EXISTS", "NOT_REGISTERED", "ALREADY_REGISTERED", "TIMEOUT", "WORKFLOW_FAILED", "WORKFLOW_TERMINATED",
    "PAYLOAD_TOO_LARGE", "UNAVAILABLE", "NODE_CLOSED", "ABORTED", "CALLBACK_FAILED", "JVM", "INTERNAL",
    "FORKED", "NODE_REMOVED", "CODEC", "UNAUTHENTICATED", "PERMISSION_DENIED",
};

static const char *code_name(raftoral_status_t s) {
  return s > 0 && (size_t)s < sizeof CODES / sizeof *CODES ? CODES[s] : "INTERNAL";
}

static void sleep_ms(long long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void send_line(jval *msg) {
  char *text = j_dump(msg, NULL);
  pthread_mutex_lock(&protocol_lock);
  fputs(text, protocol);
  fputc('\n', protocol);
  fflush(protocol);
  pthread_mutex_unlock(&protocol_lock);
  free(text);
  j_free(msg);
}

static void log_event(const char *wf, const char *ev, const char *key, long long seq, int attempt, const jval *value) {
  jval *line = j_obj();
  j_set(line, "wf", j_cstr(wf));
  j_set(line, "node", j_cstr(node_label));
  j_set(line, "ev", j_cstr(ev));
  j_set(line, "key", j_cstr(key));
  j_set(line, "seq", j_int(seq));
  j_set(line, "attempt", j_int(attempt));
  if (value) j_set(line, "value", j_clone(value));
  size_t len;
  char *text = j_dump(line, &len);
  text = realloc(text, len + 2);
  text[len] = '\n';
  /* One write(2) on an O_APPEND file: lines of concurrent processes never interleave. */
  if (write(log_fd, text, len + 1) < 0) perror("conformance-c: side-effect log");
  free(text);
  j_free(line);
}

static char *from_hex(const char *hex) {
  size_t n = strlen(hex) / 2;
  char *out = malloc(n + 1);
  for (size_t i = 0; i < n; i++) {
    unsigned b;
    sscanf(hex + 2 * i, "%2x", &b);
    out[i] = (char)b;
  }
  out[n] = 0;
  return out;
}

/* ---- the interpreter ---- */

/* Where an interpreter's error came from: the instruction set's own failure, or the C ABI. */
enum { ERR_NONE = 0, ERR_CONFORMANCE = -1 };

/* What the threads of one run share: the run's results, under `lock`. */
typedef struct {
  raftoral_ctx_t *ctx;
  int version;
  char wf[256];
  pthread_mutex_t lock;
  jval *values; /* key -> array of committed values */
  jval *errors; /* canonical codes caught by try */
  jval *seq;    /* key -> next position */
} run_state;

/* One thread of the interpreter: the run's, or a branch of `parallel`, with its own loop indices. */
typedef struct {
  run_state *run;
  long long loops[32];
  int depth;
  /* The current error: ERR_CONFORMANCE or a raftoral status, its message and type. */
  int err;
  char *err_message;
  char *err_type;
} interp;

static void set_error(interp *it, int code, const char *type, const char *message) {
  free(it->err_message);
  free(it->err_type);
  it->err = code;
  it->err_message = strdup(message ? message : "");
  it->err_type = type ? strdup(type) : NULL;
}

static int fail(interp *it, const char *message) {
  set_error(it, ERR_CONFORMANCE, "ConformanceError", message);
  return 1;
}

static int abi_error(interp *it, raftoral_status_t status, raftoral_error_t *e) {
  set_error(it, status, raftoral_error_detail(e), raftoral_error_message(e));
  raftoral_error_free(e);
  return 1;
}

static jval *eval(interp *it, const jval *e) {
  if (!e) return j_null();
  const char *what = e->type == J_OBJ ? j_getstr(e, "$") : NULL;
  if (what) {
    if (strcmp(what, "i") == 0) return j_int(it->depth ? it->loops[it->depth - 1] : 0);
    if (strcmp(what, "node") == 0) return j_cstr(node_label);
    if (strcmp(what, "pad") == 0) {
      long long n = j_getint(e, "n", 0);
      char *pad = malloc((size_t)n + 1);
      memset(pad, 'x', (size_t)n);
      jval *v = j_str(pad, (size_t)n);
      free(pad);
      return v;
    }
    return j_null();
  }
  if (e->type == J_ARR || e->type == J_OBJ) {
    jval *c = e->type == J_ARR ? j_arr() : j_obj();
    for (size_t i = 0; i < e->n; i++) {
      if (e->type == J_ARR) j_push(c, eval(it, e->items[i]));
      else j_set(c, e->keys[i], eval(it, e->items[i]));
    }
    return c;
  }
  return j_clone(e);
}

static int valid_utf8(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    int n = *p < 0x80 ? 0 : (*p >> 5) == 6 ? 1 : (*p >> 4) == 14 ? 2 : (*p >> 3) == 30 ? 3 : -1;
    if (n < 0) return 0;
    p++;
    while (n--) {
      if ((*p & 0xC0) != 0x80) return 0;
      p++;
    }
  }
  return 1;
}

static long long position(interp *it, const char *key) {
  pthread_mutex_lock(&it->run->lock);
  long long n = j_getint(it->run->seq, key, 0);
  pthread_mutex_unlock(&it->run->lock);
  return n;
}

static void wrote(interp *it, const char *key, jval *committed) {
  pthread_mutex_lock(&it->run->lock);
  j_set(it->run->seq, key, j_int(j_getint(it->run->seq, key, 0) + 1));
  char name[600];
  if (valid_utf8(key)) {
    snprintf(name, sizeof name, "%s", key);
  } else {
    strcpy(name, "hex:");
    for (size_t i = 0; key[i] && i < 250; i++) sprintf(name + 4 + 2 * i, "%02x", (unsigned char)key[i]);
  }
  jval *list = j_get(it->run->values, name);
  if (!list) {
    list = j_arr();
    j_set(it->run->values, name, list);
  }
  j_push(list, committed);
  pthread_mutex_unlock(&it->run->lock);
}

/* The op's key; "{i}" in it stands for the innermost loop's index. */
static char *op_key(interp *it, const jval *op) {
  const char *hex = j_getstr(op, "key_hex");
  if (hex) return from_hex(hex);
  const char *key = j_getstr(op, "key");
  if (!key) key = "";
  char index[24];
  snprintf(index, sizeof index, "%lld", it->depth ? it->loops[it->depth - 1] : 0);
  size_t n = 0;
  for (const char *p = key; (p = strstr(p, "{i}")); p += 3) n++;
  char *out = malloc(strlen(key) + n * strlen(index) + 1), *o = out;
  for (const char *p = key; *p;) {
    if (strncmp(p, "{i}", 3) == 0) {
      o = stpcpy(o, index);
      p += 3;
    } else {
      *o++ = *p++;
    }
  }
  *o = 0;
  return out;
}

static jval *parse_buf(raftoral_buf_t *buf) {
  const char *err;
  jval *v = j_parse((const char *)buf->data, buf->len, &err);
  raftoral_buf_free(buf);
  return v;
}

typedef struct {
  interp *it;
  const jval *op;
  const char *key;
  long long seq;
  int attempt;
  int fail_attempts;
  int fail_always;
  long long sleep;
} compute_call;

static void compute_fn(void *env, raftoral_output_t *output) {
  compute_call *c = env;
  int a = ++c->attempt;
  log_event(c->it->run->wf, "begin", c->key, c->seq, a, NULL);
  if (c->sleep > 0) sleep_ms(c->sleep);
  if (c->fail_always || a <= c->fail_attempts) {
    char message[512];
    snprintf(message, sizeof message, "compute %s failed (attempt %d)", c->key, a);
    log_event(c->it->run->wf, "fail", c->key, c->seq, a, NULL);
    raftoral_output_fail(output, "ConformanceError", message, NULL);
    return;
  }
  jval *value = eval(c->it, j_get(c->op, "value"));
  log_event(c->it->run->wf, "end", c->key, c->seq, a, value);
  size_t len;
  char *text = j_dump(value, &len);
  raftoral_error_t *e = NULL;
  if (raftoral_output_set(output, (const uint8_t *)text, len, &e) != RAFTORAL_OK) {
    raftoral_output_fail(output, code_name(raftoral_error_code(e)), raftoral_error_message(e), NULL);
    raftoral_error_free(e);
  }
  free(text);
  j_free(value);
}

static int compute(interp *it, const jval *op) {
  char *key = op_key(it, op);
  compute_call c = {it, op, key, position(it, key), 0, (int)j_getint(op, "fail_attempts", 0),
                    j_getbool(op, "fail_always"), j_getint(op, "sleep_ms", 0)};
  while (1) {
    raftoral_buf_t out = {0};
    raftoral_error_t *e = NULL;
    raftoral_status_t s = raftoral_ctx_checkpoint_compute(it->run->ctx, key, compute_fn, &c, &out, &e);
    if (s == RAFTORAL_ERR_CALLBACK_FAILED && raftoral_error_detail(e) && strcmp(raftoral_error_detail(e), "ConformanceError") == 0) {
      if (!c.fail_always && c.attempt <= c.fail_attempts) {
        raftoral_error_free(e);
        continue; /* the failed attempt consumed no position: retry the same key (SPEC §3) */
      }
      set_error(it, ERR_CONFORMANCE, "ConformanceError", raftoral_error_message(e));
      raftoral_error_free(e);
      free(key);
      return 1;
    }
    if (s != RAFTORAL_OK) {
      free(key);
      return abi_error(it, s, e);
    }
    jval *v = parse_buf(&out);
    if (!v) {
      free(key);
      return fail(it, "a committed value is not JSON");
    }
    wrote(it, key, v);
    free(key);
    return 0;
  }
}

static int block(interp *it, const jval *ops);

typedef struct {
  interp it;
  const jval *ops;
  pthread_t thread;
  int started;
  int rc;
} branch;

static void *run_branch(void *arg) {
  branch *b = arg;
  b->rc = block(&b->it, b->ops);
  return NULL;
}

/* Runs each branch on a pthread of its own, all at once, and returns when every one has ended;
   then the first failed branch (in branch order) fails the instruction with its error. */
static int parallel(interp *it, const jval *branches) {
  if (!branches || branches->type != J_ARR) return fail(it, "parallel needs an array of branches");
  size_t n = branches->n;
  branch *bs = calloc(n ? n : 1, sizeof *bs);
  for (size_t i = 0; i < n; i++) {
    bs[i].it.run = it->run;
    memcpy(bs[i].it.loops, it->loops, sizeof it->loops);
    bs[i].it.depth = it->depth;
    bs[i].ops = branches->items[i];
    if (pthread_create(&bs[i].thread, NULL, run_branch, &bs[i]) == 0) {
      bs[i].started = 1;
    } else {
      bs[i].rc = fail(&bs[i].it, "pthread_create failed");
    }
  }
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    if (bs[i].started) pthread_join(bs[i].thread, NULL);
  }
  for (size_t i = 0; i < n; i++) {
    if (bs[i].rc && !rc) {
      set_error(it, bs[i].it.err, bs[i].it.err_type, bs[i].it.err_message);
      rc = 1;
    }
    free(bs[i].it.err_message);
    free(bs[i].it.err_type);
  }
  free(bs);
  return rc;
}

static int step(interp *it, const jval *op) {
  const char *name = j_getstr(op, "op");
  if (!name) return fail(it, "an op without a name");
  if (strcmp(name, "checkpoint") == 0) {
    char *key = op_key(it, op);
    long long n = position(it, key);
    jval *value = eval(it, j_get(op, "value"));
    size_t len;
    char *text = j_dump(value, &len);
    j_free(value);
    raftoral_buf_t out = {0};
    raftoral_error_t *e = NULL;
    raftoral_status_t s = raftoral_ctx_checkpoint(it->run->ctx, key, (const uint8_t *)text, len, &out, &e);
    free(text);
    if (s != RAFTORAL_OK) {
      free(key);
      return abi_error(it, s, e);
    }
    jval *v = parse_buf(&out);
    if (!v) {
      free(key);
      return fail(it, "a committed value is not JSON");
    }
    if (j_getbool(op, "observe")) log_event(it->run->wf, "observe", key, n, 0, v);
    wrote(it, key, v);
    free(key);
    return 0;
  }
  if (strcmp(name, "compute") == 0) return compute(it, op);
  if (strcmp(name, "var") == 0 || strcmp(name, "var_set") == 0 || strcmp(name, "var_add") == 0) {
    /* A replicated variable is each language's convenience over checkpoint; the C ABI has none
       (the scenarios that use one mark C as not applicable). */
    return fail(it, "the C ABI has no replicated variable");
  }
  if (strcmp(name, "fail") == 0) {
    const char *m = j_getstr(op, "message");
    return fail(it, m ? m : "");
  }
  if (strcmp(name, "panic") == 0) {
    /* C has no panics to recover: a fault would end the host process (the scenario is not applicable). */
    return fail(it, "panic is not applicable to C");
  }
  if (strcmp(name, "wait_terminated") == 0) {
    long long deadline = now_ms() + WAIT_TERMINATED_MS;
    while (1) {
      int32_t terminated = 0;
      raftoral_error_t *e = NULL;
      raftoral_status_t s = raftoral_ctx_is_terminated(it->run->ctx, &terminated, &e);
      if (s != RAFTORAL_OK) return abi_error(it, s, e);
      if (terminated) break;
      if (now_ms() > deadline) return fail(it, "not terminated within 120 s");
      sleep_ms(20);
    }
    log_event(it->run->wf, "terminated_seen", "", 0, 0, NULL);
    return 0;
  }
  if (strcmp(name, "loop") == 0) {
    long long times = j_getint(op, "times", 0);
    if (it->depth >= 32) return fail(it, "loops nested too deep");
    for (long long i = 0; i < times; i++) {
      it->loops[it->depth++] = i;
      int rc = block(it, j_get(op, "body"));
      it->depth--;
      if (rc) return rc;
    }
    return 0;
  }
  if (strcmp(name, "parallel") == 0) return parallel(it, j_get(op, "branches"));
  if (strcmp(name, "sleep") == 0) {
    sleep_ms(j_getint(op, "ms", 0));
    return 0;
  }
  if (strcmp(name, "try") == 0) {
    int rc = block(it, j_get(op, "body"));
    if (rc && it->err != ERR_CONFORMANCE && it->err != RAFTORAL_ERR_WORKFLOW_TERMINATED && it->err != RAFTORAL_ERR_ABORTED) {
      pthread_mutex_lock(&it->run->lock);
      j_push(it->run->errors, j_cstr(code_name(it->err)));
      pthread_mutex_unlock(&it->run->lock);
      set_error(it, ERR_NONE, NULL, NULL);
      return 0;
    }
    return rc;
  }
  char m[128];
  snprintf(m, sizeof m, "unknown op '%s'", name);
  return fail(it, m);
}

static int block(interp *it, const jval *ops) {
  if (!ops || ops->type != J_ARR) return fail(it, "a body must be an array");
  for (size_t i = 0; i < ops->n; i++) {
    if (step(it, ops->items[i])) return 1;
  }
  return 0;
}

static void run_workflow(void *env, raftoral_ctx_t *ctx, const uint8_t *input, size_t input_len, raftoral_output_t *output) {
  run_state run = {0};
  run.ctx = ctx;
  run.version = (int)(intptr_t)env;
  pthread_mutex_init(&run.lock, NULL);
  run.values = j_obj();
  run.errors = j_arr();
  run.seq = j_obj();
  size_t id_len;
  raftoral_ctx_workflow_id(ctx, run.wf, sizeof run.wf, &id_len, NULL);
  interp it = {0};
  it.run = &run;
  const char *perr;
  jval *in = j_parse((const char *)input, input_len, &perr);
  const jval *program = in ? j_get(in, "program") : NULL;
  int rc = program && program->type == J_ARR ? block(&it, program) : fail(&it, "the input has no program array");
  if (rc == 0) {
    jval *result = j_obj();
    j_set(result, "version", j_int(run.version));
    j_set(result, "values", run.values);
    run.values = NULL;
    if (run.errors->n) {
      j_set(result, "errors", run.errors);
      run.errors = NULL;
    }
    size_t len;
    char *text = j_dump(result, &len);
    raftoral_error_t *e = NULL;
    if (raftoral_output_set(output, (const uint8_t *)text, len, &e) != RAFTORAL_OK) {
      /* e.g. a result above the payload limit: the workflow fails with that error */
      raftoral_output_fail(output, code_name(raftoral_error_code(e)), raftoral_error_message(e), NULL);
      raftoral_error_free(e);
    }
    free(text);
    j_free(result);
  } else if (it.err != RAFTORAL_ERR_WORKFLOW_TERMINATED && it.err != RAFTORAL_ERR_ABORTED) {
    /* Terminated or aborted: return promptly, the engine ignores the output. */
    raftoral_output_fail(output, it.err == ERR_CONFORMANCE ? "ConformanceError" : code_name(it.err), it.err_message, NULL);
  }
  j_free(in);
  j_free(run.values);
  j_free(run.errors);
  j_free(run.seq);
  pthread_mutex_destroy(&run.lock);
  free(it.err_message);
  free(it.err_type);
}

/* ---- the control protocol ---- */

static jval *reply_error(jval *rid, raftoral_status_t s, raftoral_error_t *e) {
  jval *msg = j_obj();
  j_set(msg, "rid", rid);
  jval *err = j_obj();
  j_set(err, "code", j_cstr(code_name(s)));
  j_set(err, "message", j_cstr(raftoral_error_message(e)));
  if (raftoral_error_detail(e)) j_set(err, "detail", j_cstr(raftoral_error_detail(e)));
  j_set(msg, "error", err);
  raftoral_error_free(e);
  return msg;
}

static jval *reply_ok(jval *rid, jval *ok) {
  jval *msg = j_obj();
  j_set(msg, "rid", rid);
  j_set(msg, "ok", ok);
  return msg;
}

/* A reply carrying the JSON the library returned under `name`, or the library's error. */
static jval *reply_json(jval *rid, const char *name, raftoral_status_t s, raftoral_buf_t *buf, raftoral_error_t *e) {
  if (s != RAFTORAL_OK) return reply_error(rid, s, e);
  jval *v = parse_buf(buf);
  jval *ok = j_obj();
  j_set(ok, name, v ? v : j_null());
  return reply_ok(rid, ok);
}

static void *answer(void *arg) {
  jval *req = arg;
  jval *rid = j_clone(j_get(req, "rid"));
  const char *op = j_getstr(req, "op");
  const char *id = j_getstr(req, "workflow_id");
  raftoral_buf_t out = {0};
  raftoral_error_t *e = NULL;
  jval *msg;
  if (op && strcmp(op, "start") == 0) {
    const char *plain_type = j_getstr(req, "type");
    char *type = j_getstr(req, "type_hex") ? from_hex(j_getstr(req, "type_hex")) : plain_type ? strdup(plain_type) : NULL;
    char *wid = j_getstr(req, "workflow_id_hex") ? from_hex(j_getstr(req, "workflow_id_hex")) : id ? strdup(id) : NULL;
    const jval *input = j_get(req, "input");
    int has_input = input && input->type == J_STR;
    raftoral_status_t s = raftoral_workflow_start(node, type, (uint32_t)j_getint(req, "version", 1),
                                                  has_input ? (const uint8_t *)input->text : NULL,
                                                  has_input ? input->len : 0, wid, &out, &e);
    if (s == RAFTORAL_OK) {
      jval *ok = j_obj();
      j_set(ok, "workflow_id", j_str((const char *)out.data, out.len));
      raftoral_buf_free(&out);
      msg = reply_ok(rid, ok);
    } else {
      msg = reply_error(rid, s, e);
    }
    free(type);
    free(wid);
  } else if (op && strcmp(op, "await") == 0) {
    raftoral_status_t s = raftoral_workflow_await(node, id, j_getint(req, "timeout_ms", 60000), &out, &e);
    msg = reply_json(rid, "result", s, &out, e);
  } else if (op && strcmp(op, "describe") == 0) {
    raftoral_status_t s = raftoral_workflow_describe(node, id, &out, &e);
    msg = reply_json(rid, "info", s, &out, e);
  } else if (op && strcmp(op, "terminate") == 0) {
    raftoral_status_t s = raftoral_workflow_terminate(node, id, j_getstr(req, "reason"), &out, &e);
    msg = reply_json(rid, "info", s, &out, e);
  } else if (op && strcmp(op, "list") == 0) {
    char *query = j_dump(j_get(req, "query") ? j_get(req, "query") : j_obj(), NULL);
    raftoral_status_t s = raftoral_workflow_list(node, query, &out, &e);
    free(query);
    if (s == RAFTORAL_OK) {
      jval *page = parse_buf(&out);
      jval *ok = j_obj();
      j_set(ok, "workflows", j_clone(j_get(page, "workflows")));
      j_set(ok, "next_page_token", j_clone(j_get(page, "nextPageToken")));
      j_free(page);
      msg = reply_ok(rid, ok);
    } else {
      msg = reply_error(rid, s, e);
    }
  } else if (op && strcmp(op, "history") == 0) {
    /* Every page, following the page tokens, into one array of the library's entries. */
    const char *key = j_getstr(req, "key");
    uint32_t limit = (uint32_t)j_getint(req, "page_size", 0);
    jval *entries = j_arr();
    char *token = NULL;
    raftoral_status_t s;
    while ((s = raftoral_workflow_history(node, id, key, token, limit, &out, &e)) == RAFTORAL_OK) {
      jval *page = parse_buf(&out);
      const jval *items = page ? j_get(page, "entries") : NULL;
      for (size_t i = 0; items && items->type == J_ARR && i < items->n; i++) j_push(entries, j_clone(items->items[i]));
      free(token);
      token = page && j_getstr(page, "nextPageToken") ? strdup(j_getstr(page, "nextPageToken")) : NULL;
      j_free(page);
      if (!token) break;
    }
    free(token);
    if (s == RAFTORAL_OK) {
      jval *ok = j_obj();
      j_set(ok, "entries", entries);
      msg = reply_ok(rid, ok);
    } else {
      j_free(entries);
      msg = reply_error(rid, s, e);
    }
  } else {
    msg = j_obj();
    j_set(msg, "rid", rid);
    jval *err = j_obj();
    j_set(err, "code", j_cstr("INVALID_ARGUMENT"));
    j_set(err, "message", j_cstr("unknown request"));
    j_set(msg, "error", err);
  }
  send_line(msg);
  j_free(req);
  return NULL;
}

static int check(raftoral_status_t s, raftoral_error_t *e, const char *what) {
  if (s == RAFTORAL_OK) return 0;
  fprintf(stderr, "conformance-c: %s: %s (%s)\n", what, raftoral_error_message(e), code_name(s));
  raftoral_error_free(e);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: conformance-c CONFIG_JSON\n");
    return 2;
  }
  /* The protocol owns the original stdout; anything else printed goes to stderr. */
  protocol = fdopen(dup(1), "w");
  dup2(2, 1);
  if (getenv("CONFORMANCE_NODE")) node_label = getenv("CONFORMANCE_NODE");
  const char *log_path = getenv("CONFORMANCE_LOG");
  if (!log_path || (log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT, 0644)) < 0) {
    fprintf(stderr, "conformance-c: cannot open $CONFORMANCE_LOG\n");
    return 1;
  }
  raftoral_error_t *e = NULL;
  if (check(raftoral_init(NULL, &e), e, "init")) return 1;
  if (check(raftoral_node_create(argv[1], &node, &e), e, "node_create")) return 1;
  struct {
    const char *type;
    uint32_t version;
    raftoral_execution_mode_t mode;
    int64_t keep_last_per_key;
  } types[] = {{"conformance", 1, RAFTORAL_MODE_HOT_STANDBY, 0},
               {"conformance", 2, RAFTORAL_MODE_HOT_STANDBY, 0},
               {"conformance_owner_only", 1, RAFTORAL_MODE_OWNER_ONLY, 0},
               {"conformance_keep_last", 1, RAFTORAL_MODE_HOT_STANDBY, 2}};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    raftoral_workflow_options_t options = {sizeof options, types[i].mode, types[i].keep_last_per_key};
    if (check(raftoral_node_register_workflow_ex(node, types[i].type, types[i].version, &options, run_workflow,
                                                 (void *)(intptr_t)types[i].version, NULL, &e),
              e, "register")) {
      return 1;
    }
  }
  if (check(raftoral_node_start(node, &e), e, "node_start")) return 1;
  uint64_t id = 0;
  char api[256] = "";
  size_t api_len = 0;
  raftoral_node_id(node, &id, NULL);
  raftoral_node_api_address(node, api, sizeof api, &api_len, NULL);
  jval *ready = j_obj();
  j_set(ready, "event", j_cstr("ready"));
  j_set(ready, "node_id", j_int((long long)id));
  j_set(ready, "api_address", j_cstr(api));
  send_line(ready);

  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) > 0) {
    const char *perr;
    jval *req = j_parse(line, (size_t)n, &perr);
    if (!req) continue;
    const char *op = j_getstr(req, "op");
    if (op && strcmp(op, "quit") == 0) {
      j_free(req);
      break;
    }
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_create(&t, &attr, answer, req);
    pthread_attr_destroy(&attr);
  }
  free(line);
  raftoral_node_close(node, NULL);
  raftoral_shutdown(NULL);
  return 0;
}
