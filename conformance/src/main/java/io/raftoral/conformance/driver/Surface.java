package io.raftoral.conformance.driver;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The client calls of one entry point on one node, as the scenarios use them. Errors of the
 * entry point's API come back as canonical {@link Reply} errors; only a broken transport (a dead
 * process, a protocol error) throws.
 *
 * <p>Values: {@code start} gives {"workflow_id"}; {@code await} {"result": JSON}; {@code
 * describe} and {@code terminate} {"info": INFO}; {@code list} {"workflows": [INFO...],
 * "next_page_token": string or null}; {@code history} {"entries": [ENTRY...]}, every page read
 * through the entry point's own paging, ENTRY the C ABI's shape (key, seq, value or valueBase64,
 * committedAtMillis, ownerNode, ownerTerm). INFO is the C ABI's JSON shape (workflowId, type, version,
 * status, ownerNode, checkpointCount, errorType, errorMessage, ...).
 */
interface Surface {
  /**
   * @param typeHex when not null, the type as raw bytes (hex) that need not be UTF-8
   * @param workflowId null for a generated id
   * @param workflowIdHex when not null, the id as raw bytes (hex)
   * @param input the input's bytes: JSON text
   */
  Reply start(String type, String typeHex, int version, byte[] input, String workflowId, String workflowIdHex);

  Reply await(String workflowId, long timeoutMillis);

  Reply describe(String workflowId);

  /** @param query the C ABI's list query (statuses, type, version, started_after, started_before, limit, page_token) */
  Reply list(ObjectNode query);

  Reply terminate(String workflowId, String reason);

  /**
   * @param key null for every key
   * @param pageSize entries per page, 0 for the entry point's default
   */
  Reply history(String workflowId, String key, int pageSize);
}
