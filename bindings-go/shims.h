// C trampolines between libraftoral.so and the //export functions of callbacks.go. They live in
// shims.c because a file with //export may only declare C functions in its preamble.
#ifndef RAFTORAL_GO_SHIMS_H
#define RAFTORAL_GO_SHIMS_H

#include <stdint.h>
#include <stdlib.h>

#include "raftoral.h"

// Registers a workflow type (raftoral_node_register_workflow_ex with these options) whose env
// is a runtime/cgo.Handle of a *registration; its finalizer deletes the handle. The handle
// travels as an integer so Go never converts an integer to an unsafe.Pointer.
raftoral_status_t raftoral_go_register_workflow(raftoral_node_t *node, const char *type, uint32_t version,
                                                raftoral_execution_mode_t mode, int64_t keep_last_per_key,
                                                uintptr_t handle, raftoral_error_t **error_out);

// raftoral_ctx_checkpoint_compute with the Go compute trampoline; handle is a cgo.Handle of a
// *computeCall, borrowed for the duration of the call.
raftoral_status_t raftoral_go_checkpoint_compute(raftoral_ctx_t *ctx, const char *key, uintptr_t handle,
                                                 raftoral_buf_t *committed_out, raftoral_error_t **error_out);

// raftoral_init with options built from Go values (jvm_options is a C array of C strings).
raftoral_status_t raftoral_go_init(const char *java_home, const char *class_path, const char *const *jvm_options,
                                   size_t jvm_options_len, raftoral_error_t **error_out);

#endif
