#include "shims.h"

#include "_cgo_export.h"

static void workflow_trampoline(void *env, raftoral_ctx_t *ctx, const uint8_t *input, size_t input_len,
                                raftoral_output_t *output) {
  raftoralGoRunWorkflow((uintptr_t)env, ctx, (uint8_t *)input, input_len, output);
}

static void compute_trampoline(void *env, raftoral_output_t *output) {
  raftoralGoCompute((uintptr_t)env, output);
}

static void finalizer_trampoline(void *env) {
  raftoralGoFinalize((uintptr_t)env);
}

raftoral_status_t raftoral_go_register_workflow(raftoral_node_t *node, const char *type, uint32_t version,
                                                raftoral_execution_mode_t mode, int64_t keep_last_per_key,
                                                uintptr_t handle, raftoral_error_t **error_out) {
  raftoral_workflow_options_t options = {0};
  options.struct_size = sizeof options;
  options.mode = mode;
  options.keep_last_per_key = keep_last_per_key;
  return raftoral_node_register_workflow_ex(node, type, version, &options, workflow_trampoline, (void *)handle,
                                            finalizer_trampoline, error_out);
}

raftoral_status_t raftoral_go_checkpoint_compute(raftoral_ctx_t *ctx, const char *key, uintptr_t handle,
                                                 raftoral_buf_t *committed_out, raftoral_error_t **error_out) {
  return raftoral_ctx_checkpoint_compute(ctx, key, compute_trampoline, (void *)handle, committed_out, error_out);
}

raftoral_status_t raftoral_go_init(const char *java_home, const char *class_path, const char *const *jvm_options,
                                   size_t jvm_options_len, raftoral_error_t **error_out) {
  raftoral_init_options_t options = {0};
  options.struct_size = sizeof options;
  options.java_home = java_home;
  options.class_path = class_path;
  options.jvm_options = jvm_options;
  options.jvm_options_len = jvm_options_len;
  return raftoral_init(&options, error_out);
}
