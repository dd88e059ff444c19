package raftoral

/*
#include <stdlib.h>
#include "shims.h"
*/
import "C"

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"runtime"
	"time"
	"unsafe"
)

// maxHistoryLimit is the largest page of a history query (raftoral_workflow_history's limit).
const maxHistoryLimit = 1000

// HistoryEntry is one committed checkpoint of a workflow's history.
type HistoryEntry struct {
	Key string
	// Seq is the 0-based position of the value among the values of Key.
	Seq int64
	// Value is the committed value. When its bytes are one JSON value (as the default codecs
	// write them) the engine hands it over as JSON and Value holds that JSON, re-encoded
	// compactly; otherwise Value holds the bytes exactly. IsJSON says which.
	Value  []byte
	IsJSON bool
	// Size is the committed value's length in bytes as stored.
	Size int64
	// CommittedAt is the owner's clock when it proposed the value; zero when unknown (a value
	// committed by a version that did not record it).
	CommittedAt time.Time
	// OwnerNode and OwnerTerm are the node that owned the workflow and proposed the value, and
	// the Raft term of that ownership; 0 when unknown.
	OwnerNode uint64
	OwnerTerm uint64
}

// HistoryQuery selects one page of a workflow's history (Node.ReadHistoryPage).
type HistoryQuery struct {
	WorkflowID string
	Key        string // one key's values in seq order; empty: every key in commit order
	Limit      int    // page size, 1..1000; 0: 100
	PageToken  string // HistoryPage.NextPageToken of the previous page of the same Key
}

// HistoryPage is one page of a workflow's history.
type HistoryPage struct {
	Entries []HistoryEntry
	// NextPageToken fetches the next page (HistoryQuery.PageToken); empty on the last page.
	NextPageToken string
}

// HistoryOption configures Node.History.
type HistoryOption func(*historyOptions)

type historyOptions struct {
	key      string
	keySet   bool
	pageSize int
}

// WithKey reads the values of one checkpoint key only, in seq order (an empty key is
// ErrInvalidArgument: leave the option out to read every key).
func WithKey(key string) HistoryOption {
	return func(o *historyOptions) { o.key, o.keySet = key, true }
}

// WithPageSize sets how many entries each call into the engine reads (1..1000; default 100).
func WithPageSize(n int) HistoryOption {
	return func(o *historyOptions) { o.pageSize = n }
}

// History returns every committed checkpoint of the workflow, kept until the workflow is
// pruned: with WithKey the values of that key in seq order, without it those of every key in
// the order they were committed. It reads page after page (WithPageSize entries each), checking
// ctx before each; ReadHistoryPage reads one page. ErrNotFound for an unknown id,
// ErrInvalidArgument for bad options.
func (n *Node) History(ctx context.Context, workflowID string, opts ...HistoryOption) ([]HistoryEntry, error) {
	var o historyOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.keySet && o.key == "" {
		return nil, invalidArgument("key must not be empty; leave WithKey out for the history of every key")
	}
	if o.pageSize == 0 {
		o.pageSize = 100
	}
	q := HistoryQuery{WorkflowID: workflowID, Key: o.key, Limit: o.pageSize}
	var all []HistoryEntry
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		page, err := n.ReadHistoryPage(q)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Entries...)
		if page.NextPageToken == "" {
			return all, nil
		}
		q.PageToken = page.NextPageToken
	}
}

// ReadHistoryPage reads one page of a workflow's history (see History for the order): pass the
// page's NextPageToken in the next query, with the same Key, for the page after it; the pages
// have no gap and no repeat while the workflow goes on appending. ErrNotFound for an unknown
// id; ErrInvalidArgument for a Limit out of range or a PageToken that is malformed or of
// another Key.
func (n *Node) ReadHistoryPage(q HistoryQuery) (*HistoryPage, error) {
	if q.Limit < 0 || q.Limit > maxHistoryLimit {
		return nil, invalidArgument("limit must be between 1 and 1000 (0: 100)")
	}
	p, err := n.handle()
	if err != nil {
		return nil, err
	}
	cid, err := cstring(q.WorkflowID, "workflow id")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cid))
	ckey, err := cstringOrNil(q.Key, "key")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(ckey))
	ctoken, err := cstringOrNil(q.PageToken, "page token")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(ctoken))
	var out C.raftoral_buf_t
	var cerr *C.raftoral_error_t
	status := C.raftoral_workflow_history(p, cid, ckey, ctoken, C.uint32_t(q.Limit), &out, &cerr)
	runtime.KeepAlive(n)
	if err := takeError(status, cerr); err != nil {
		return nil, err
	}
	page, err := decodeHistory(takeBuf(&out))
	if err != nil {
		return nil, &Error{Code: CodeInternal, Message: "cannot decode workflow history: " + err.Error()}
	}
	return page, nil
}

// historyJSON is raftoral_workflow_history's JSON (the CLI's `history --output json`).
type historyJSON struct {
	Entries []struct {
		Key               string          `json:"key"`
		Seq               int64           `json:"seq"`
		Size              int64           `json:"size"`
		Value             json.RawMessage `json:"value"`
		ValueBase64       *string         `json:"valueBase64"`
		CommittedAtMillis int64           `json:"committedAtMillis"`
		OwnerNode         uint64          `json:"ownerNode"`
		OwnerTerm         uint64          `json:"ownerTerm"`
	} `json:"entries"`
	NextPageToken *string `json:"nextPageToken"`
}

func decodeHistory(js []byte) (*HistoryPage, error) {
	var h historyJSON
	if err := json.Unmarshal(js, &h); err != nil {
		return nil, err
	}
	page := &HistoryPage{Entries: make([]HistoryEntry, 0, len(h.Entries))}
	if h.NextPageToken != nil {
		page.NextPageToken = *h.NextPageToken
	}
	for _, e := range h.Entries {
		entry := HistoryEntry{Key: e.Key, Seq: e.Seq, Size: e.Size, OwnerNode: e.OwnerNode, OwnerTerm: e.OwnerTerm}
		if e.ValueBase64 != nil {
			raw, err := base64.StdEncoding.DecodeString(*e.ValueBase64)
			if err != nil {
				return nil, err
			}
			entry.Value = raw
		} else {
			// A JSON value (null included): the engine's text, copied out of the page's buffer.
			entry.Value = bytes.Clone(e.Value)
			entry.IsJSON = true
		}
		if e.CommittedAtMillis != 0 {
			entry.CommittedAt = time.UnixMilli(e.CommittedAtMillis).UTC()
		}
		page.Entries = append(page.Entries, entry)
	}
	return page, nil
}
