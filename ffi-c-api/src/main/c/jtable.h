/*
 * The table between the C shim and the Java side (io.raftoral.ffi.Entries): private to
 * libraftoral.so, never installed.
 *
 * Java fills one function pointer per entry, in this order, with an FFM upcall stub. Every
 * entry returns a raftoral_status_t and ends with `raftoral_error_t **error_out`. Handles
 * cross as uint64_t. EntriesTest parses this file and checks it against Entries.java, so an
 * entry changed on one side only fails the build instead of corrupting memory.
 */
#ifndef RAFTORAL_JTABLE_H
#define RAFTORAL_JTABLE_H

#include "raftoral.h"

#define RAFTORAL_JAVA_ENTRIES(X)                                                                                     \
  X(shutdown, (raftoral_error_t **error_out))                                                                       \
  X(node_create, (const char *config_json, uint64_t *node_out, raftoral_error_t **error_out))                       \
  X(node_register_workflow, (uint64_t node, const char *type, uint32_t version, int32_t mode,                       \
                             int64_t keep_last_per_key, void *fn, void *env, void *finalizer,                        \
                             raftoral_error_t **error_out))                                                          \
  X(node_start, (uint64_t node, raftoral_error_t **error_out))                                                     \
  X(node_id, (uint64_t node, uint64_t *id_out, raftoral_error_t **error_out))                                       \
  X(node_api_address, (uint64_t node, char *buf, size_t capacity, size_t *len_out, raftoral_error_t **error_out))   \
  X(node_http_address, (uint64_t node, char *buf, size_t capacity, size_t *len_out, raftoral_error_t **error_out))  \
  X(node_close, (uint64_t node, raftoral_error_t **error_out))                                                     \
  X(workflow_start, (uint64_t node, const char *type, uint32_t version, const uint8_t *input, size_t input_len,      \
                     const char *workflow_id, raftoral_buf_t *workflow_id_out, raftoral_error_t **error_out))        \
  X(workflow_await, (uint64_t node, const char *workflow_id, int64_t timeout_ms, raftoral_buf_t *result_out,         \
                     raftoral_error_t **error_out))                                                                  \
  X(workflow_describe, (uint64_t node, const char *workflow_id, raftoral_buf_t *info_json_out,                       \
                        raftoral_error_t **error_out))                                                               \
  X(workflow_list, (uint64_t node, const char *query_json, raftoral_buf_t *page_json_out, raftoral_error_t **error_out)) \
  X(workflow_history, (uint64_t node, const char *workflow_id, const char *key, const char *page_token,              \
                       uint32_t limit, raftoral_buf_t *history_json_out, raftoral_error_t **error_out))               \
  X(workflow_terminate, (uint64_t node, const char *workflow_id, const char *reason, raftoral_buf_t *info_json_out,   \
                         raftoral_error_t **error_out))                                                              \
  X(ctx_checkpoint, (uint64_t ctx, const char *key, const uint8_t *value, size_t value_len,                         \
                     raftoral_buf_t *committed_out, raftoral_error_t **error_out))                                   \
  X(ctx_checkpoint_compute, (uint64_t ctx, const char *key, void *fn, void *env, raftoral_buf_t *committed_out,      \
                             raftoral_error_t **error_out))                                                          \
  X(ctx_is_terminated, (uint64_t ctx, int32_t *terminated_out, raftoral_error_t **error_out))                       \
  X(ctx_is_owner, (uint64_t ctx, int32_t *owner_out, raftoral_error_t **error_out))                                 \
  X(ctx_workflow_id, (uint64_t ctx, char *buf, size_t capacity, size_t *len_out, raftoral_error_t **error_out))      \
  X(output_set, (uint64_t output, const uint8_t *data, size_t len, raftoral_error_t **error_out))                   \
  X(output_fail, (uint64_t output, const char *error_type, const char *message, raftoral_error_t **error_out))

/* What C offers the Java side: allocation that the caller frees with free(), and error objects. */
typedef struct raftoral_services {
  void *(*alloc)(size_t size);
  raftoral_error_t *(*error_new)(raftoral_status_t code, const char *message, const char *detail);
} raftoral_services_t;

#endif /* RAFTORAL_JTABLE_H */
