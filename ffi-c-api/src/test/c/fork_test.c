/*
 * A child forked after raftoral_init: every call, shutdown included, fails at once with
 * RAFTORAL_ERR_FORKED (the engine's threads stayed in the parent), and the child's exit() ends
 * normally although the engine's libraries (the JVM, RocksDB) are loaded. The parent goes on.
 *
 * Built without sanitizers against the library as shipped: GCC 12's ASan takes no allocator
 * locks around fork(), so under ASan a child forked while a JVM thread held one would hang in
 * its first malloc, a hang of the sanitizer rather than of the library (glibc's malloc is fork-safe).
 */
#define _GNU_SOURCE
#include "check.h"

/* echo: one checkpoint holding the input; the result is the checkpoint's committed value. */
static void echo_workflow(void *env, raftoral_ctx_t *ctx, const uint8_t *input, size_t input_len,
                          raftoral_output_t *output) {
  (void)env;
  raftoral_buf_t committed = {0};
  if (raftoral_ctx_checkpoint(ctx, "echo", input, input_len, &committed, NULL) != RAFTORAL_OK) {
    return; /* aborted: the engine ignores the output */
  }
  raftoral_output_set(output, committed.data, committed.len, NULL);
  raftoral_buf_free(&committed);
}

/* Starts echo(input) and checks its result. */
static void run_echo(raftoral_node_t *node, const char *input) {
  raftoral_buf_t id = {0};
  raftoral_buf_t result = {0};
  CHECK_OK(raftoral_workflow_start(node, "echo", 1, (const uint8_t *)input, strlen(input), NULL, &id, &err_));
  CHECK_OK(raftoral_workflow_await(node, (const char *)id.data, 30000, &result, &err_));
  CHECK(result.len == strlen(input) && memcmp(result.data, input, result.len) == 0);
  raftoral_buf_free(&result);
  raftoral_buf_free(&id);
}

/* In the child: every call fails at once with RAFTORAL_ERR_FORKED and says why. */
static int child_sees_forked(raftoral_node_t *node) {
  raftoral_buf_t buf = {0};
  raftoral_node_t *unused = NULL;
  raftoral_error_t *err = NULL;
  int ok = raftoral_workflow_describe(node, "any", &buf, NULL) == RAFTORAL_ERR_FORKED &&
           raftoral_node_create("{}", &unused, &err) == RAFTORAL_ERR_FORKED &&
           raftoral_error_code(err) == RAFTORAL_ERR_FORKED && strstr(raftoral_error_message(err), "forked") != NULL;
  raftoral_error_free(err);
  return ok && raftoral_init(NULL, NULL) == RAFTORAL_ERR_FORKED && raftoral_shutdown(NULL) == RAFTORAL_ERR_FORKED;
}

int main(void) {
  raftoral_node_t *node = NULL;
  char config[128];
  snprintf(config, sizeof config, "{\"node_id\": 1, \"raft_address\": \"127.0.0.1:%d\"}", free_port());
  CHECK_OK(raftoral_init(NULL, &err_));
  CHECK_OK(raftoral_node_create(config, &node, &err_));
  CHECK_OK(raftoral_node_register_workflow(node, "echo", 1, RAFTORAL_MODE_HOT_STANDBY, echo_workflow, NULL, NULL,
                                           &err_));
  CHECK_OK(raftoral_node_start(node, &err_));
  run_echo(node, "before the fork");

  fflush(NULL);
  pid_t child = fork();
  if (child == 0) {
    exit(child_sees_forked(node) ? 0 : 3); /* exit(), not _exit(): the exit path is under test */
  }
  CHECK(child > 0);
  CHECK(wait_child(child, 60) == 0);

  run_echo(node, "after the fork");
  CHECK_OK(raftoral_shutdown(&err_));
  printf("fork_test: %d checks passed\n", checks);
  return 0;
}
