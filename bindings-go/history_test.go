package raftoral

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"
)

var historyRaw = []byte{0xff, 0x00, 'b', 'i', 'n'}

// historyKeysWorkflow checkpoints under several keys, JSON values and one that is not JSON.
func historyKeysWorkflow(ctx *Context, _ []byte) ([]byte, error) {
	steps := []struct {
		key   string
		value []byte
	}{{"a", []byte("1")}, {"b", []byte(`"x"`)}, {"a", []byte("2")}, {"raw", historyRaw}, {"a", []byte("3")}}
	for _, s := range steps {
		if _, err := ctx.Checkpoint(s.key, s.value); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// historyManyWorkflow checkpoints 0..n-1 under key "k".
func historyManyWorkflow(ctx *Context, in []byte) ([]byte, error) {
	n, err := strconv.Atoi(string(in))
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		if _, err := ctx.Checkpoint("k", []byte(strconv.Itoa(i))); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func runHistoryWorkflow(t *testing.T, typ string, input string) string {
	t.Helper()
	ctx := waitCtx(t)
	h, err := testNode.Start(ctx, typ, 1, []byte(input))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Result(ctx); err != nil {
		t.Fatal(err)
	}
	return h.ID()
}

func describeEntries(entries []HistoryEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = fmt.Sprintf("%s#%d=%q/%v", e.Key, e.Seq, e.Value, e.IsJSON)
	}
	return out
}

func TestHistoryKeysAndOrder(t *testing.T) {
	ctx := waitCtx(t)
	before := time.Now().Add(-5 * time.Second)
	id := runHistoryWorkflow(t, "history-keys", "")
	after := time.Now().Add(5 * time.Second)

	a, err := testNode.History(ctx, id, WithKey("a"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(describeEntries(a)), `[a#0="1"/true a#1="2"/true a#2="3"/true]`; got != want {
		t.Errorf("history of a: %s, want %s", got, want)
	}
	all, err := testNode.History(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := `[a#0="1"/true b#0="\"x\""/true a#1="2"/true raw#0="\xff\x00bin"/false a#2="3"/true]`
	if got := fmt.Sprint(describeEntries(all)); got != want {
		t.Errorf("history: %s, want %s", got, want)
	}
	nodeID, err := testNode.ID()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if e.CommittedAt.Before(before) || e.CommittedAt.After(after) || e.CommittedAt.Location() != time.UTC {
			t.Errorf("%s#%d committed at %v, not between %v and %v in UTC", e.Key, e.Seq, e.CommittedAt, before, after)
		}
		if e.OwnerNode != nodeID || e.OwnerTerm < 1 {
			t.Errorf("%s#%d owned by node %d in term %d, want node %d", e.Key, e.Seq, e.OwnerNode, e.OwnerTerm, nodeID)
		}
	}
	if all[3].Size != int64(len(historyRaw)) || !bytes.Equal(all[3].Value, historyRaw) {
		t.Errorf("raw value %q of size %d", all[3].Value, all[3].Size)
	}
	none, err := testNode.History(ctx, id, WithKey("never-written"))
	if err != nil || len(none) != 0 {
		t.Errorf("history of an unwritten key: %v, %v", none, err)
	}
}

func TestHistoryPaging(t *testing.T) {
	ctx := waitCtx(t)
	id := runHistoryWorkflow(t, "history-many", "25")
	for _, opts := range [][]HistoryOption{{WithKey("k"), WithPageSize(10)}, {WithPageSize(7)}, {WithPageSize(1000)}} {
		entries, err := testNode.History(ctx, id, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 25 {
			t.Fatalf("%d entries, want 25", len(entries))
		}
		for i, e := range entries {
			if e.Seq != int64(i) || string(e.Value) != strconv.Itoa(i) {
				t.Errorf("entry %d: %s#%d=%q", i, e.Key, e.Seq, e.Value)
			}
		}
	}
	// Page by page: 10, 10, 5, then no token; a token belongs to its key.
	q := HistoryQuery{WorkflowID: id, Key: "k", Limit: 10}
	var sizes []int
	var token string
	for {
		page, err := testNode.ReadHistoryPage(q)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(page.Entries))
		if page.NextPageToken == "" {
			break
		}
		token = page.NextPageToken
		q.PageToken = token
	}
	if fmt.Sprint(sizes) != "[10 10 5]" {
		t.Errorf("pages of %v, want [10 10 5]", sizes)
	}
	if _, err := testNode.ReadHistoryPage(HistoryQuery{WorkflowID: id, PageToken: token}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("a token of key k for every key: %v", err)
	}
	// A cancelled context stops the reading.
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := testNode.History(cancelled, id); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestHistoryBadInput(t *testing.T) {
	ctx := waitCtx(t)
	id := runHistoryWorkflow(t, "history-many", "1")
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"unknown id", second(testNode.History(ctx, "no-such-workflow")), ErrNotFound},
		{"empty id", second(testNode.History(ctx, "")), ErrInvalidArgument},
		{"invalid UTF-8 id", second(testNode.History(ctx, "\xe2\x82")), ErrInvalidArgument},
		{"NUL in id", second(testNode.History(ctx, "a\x00b")), ErrInvalidArgument},
		{"empty key", second(testNode.History(ctx, id, WithKey(""))), ErrInvalidArgument},
		{"NUL in key", second(testNode.History(ctx, id, WithKey("a\x00"))), ErrInvalidArgument},
		{"page size too large", second(testNode.History(ctx, id, WithPageSize(1001))), ErrInvalidArgument},
		{"negative page size", second(testNode.History(ctx, id, WithPageSize(-1))), ErrInvalidArgument},
		{"huge limit", second(testNode.ReadHistoryPage(HistoryQuery{WorkflowID: id, Limit: 1 << 33})), ErrInvalidArgument},
		{"malformed token", second(testNode.ReadHistoryPage(HistoryQuery{WorkflowID: id, PageToken: "not a token"})), ErrInvalidArgument},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v; want %v", c.name, c.err, c.want)
		}
	}
	// The node goes on answering.
	if entries, err := testNode.History(ctx, id); err != nil || len(entries) != 1 || string(entries[0].Value) != "0" {
		t.Errorf("after bad calls: %v, %v", entries, err)
	}
}
