// Command conformance-go is the Go entry point of the conformance suite: one node of a cluster,
// embedded in this process through the raftoral Go package, with the instruction-set
// interpreter (conformance/gointerp) registered as its workflows (conformance/README.md).
//
// Usage: conformance-go CONFIG_JSON, where CONFIG_JSON is the node's configuration in the C
// ABI's shape (node_id, members, api_address, data_dir, ...). $CONFORMANCE_LOG names the
// side-effect log, $CONFORMANCE_NODE this node's label. Once the node is open it prints
// {"event": "ready", ...}; then it answers the driver's requests, one JSON object per line on
// stdin, each with one JSON line on stdout, in any order (each request runs in its goroutine).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	raftoral "github.com/raftoral/raftoral-go"
	"github.com/raftoral/raftoral-go/conformance/gointerp"
)

// host is the interpreter's gointerp.Context over the embedded binding's context.
type host struct{ *raftoral.Context }

func (h host) NewVar(key string, initial any) (gointerp.Var, error) {
	v, err := raftoral.NewVar[any](h.Context, key, initial)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (host) Canonical(err error) string { return canonical(err) }

// Stopping: the workflow was terminated, or this run is no longer wanted.
func (host) Stopping(err error) bool {
	return errors.Is(err, raftoral.ErrTerminated) || errors.Is(err, raftoral.ErrAborted)
}

// canonical names an error of this surface as the suite does: the C ABI's status name without
// its prefix.
func canonical(err error) string {
	var e *raftoral.Error
	if errors.As(err, &e) {
		return strings.TrimPrefix(e.Code.String(), "RAFTORAL_ERR_")
	}
	return "INTERNAL"
}

func workflow(version int) raftoral.WorkflowFunc {
	return func(ctx *raftoral.Context, input []byte) ([]byte, error) {
		return gointerp.Run(host{ctx}, version, input)
	}
}

// ---- the control protocol ----

type request struct {
	RID           int64          `json:"rid"`
	Op            string         `json:"op"`
	Type          string         `json:"type"`
	TypeHex       *string        `json:"type_hex"`
	Version       int            `json:"version"`
	Input         string         `json:"input"`
	WID           *string        `json:"workflow_id"`
	WorkflowIDHex *string        `json:"workflow_id_hex"`
	TimeoutMs     int64          `json:"timeout_ms"`
	Reason        string         `json:"reason"`
	Query         map[string]any `json:"query"`
	Key           *string        `json:"key"`
	PageSize      int            `json:"page_size"`
}

func info(i *raftoral.WorkflowInfo) map[string]any {
	return map[string]any{"workflowId": i.WorkflowID, "type": i.Type, "version": i.Version, "status": i.Status,
		"ownerNode": i.OwnerNode, "checkpointCount": i.CheckpointCount, "errorType": i.ErrorType,
		"errorMessage": i.ErrorMessage}
}

func fromHex(s string) string {
	b, _ := hex.DecodeString(s)
	return string(b)
}

func execute(node *raftoral.Node, r request) (any, error) {
	switch r.Op {
	case "start":
		typ := r.Type
		if r.TypeHex != nil {
			typ = fromHex(*r.TypeHex)
		}
		var opts []raftoral.StartOption
		if r.WorkflowIDHex != nil {
			opts = append(opts, raftoral.WithWorkflowID(fromHex(*r.WorkflowIDHex)))
		} else if r.WID != nil {
			opts = append(opts, raftoral.WithWorkflowID(*r.WID))
		}
		h, err := node.Start(context.Background(), typ, r.Version, []byte(r.Input), opts...)
		if err != nil {
			return nil, err
		}
		return map[string]any{"workflow_id": h.ID()}, nil
	case "await":
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.TimeoutMs)*time.Millisecond)
		defer cancel()
		result, err := node.Handle(r.WorkflowID()).Result(ctx)
		if err != nil {
			return nil, err
		}
		v, err := gointerp.Decode(result)
		if err != nil {
			return nil, fmt.Errorf("the result is not JSON: %w", err)
		}
		return map[string]any{"result": v}, nil
	case "describe":
		i, err := node.Describe(r.WorkflowID())
		if err != nil {
			return nil, err
		}
		return map[string]any{"info": info(i)}, nil
	case "terminate":
		i, err := node.Terminate(r.WorkflowID(), r.Reason)
		if err != nil {
			return nil, err
		}
		return map[string]any{"info": info(i)}, nil
	case "list":
		q, err := listQuery(r.Query)
		if err != nil {
			return nil, err
		}
		page, err := node.List(q)
		if err != nil {
			return nil, err
		}
		ws := make([]any, 0, len(page.Workflows))
		for i := range page.Workflows {
			ws = append(ws, info(&page.Workflows[i]))
		}
		var token any
		if page.NextPageToken != "" {
			token = page.NextPageToken
		}
		return map[string]any{"workflows": ws, "next_page_token": token}, nil
	case "history":
		var opts []raftoral.HistoryOption
		if r.Key != nil {
			opts = append(opts, raftoral.WithKey(*r.Key))
		}
		if r.PageSize != 0 {
			opts = append(opts, raftoral.WithPageSize(r.PageSize))
		}
		entries, err := node.History(context.Background(), r.WorkflowID(), opts...)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(entries))
		for _, e := range entries {
			m := map[string]any{"key": e.Key, "seq": e.Seq, "committedAtMillis": int64(0), "ownerNode": e.OwnerNode,
				"ownerTerm": e.OwnerTerm}
			if !e.CommittedAt.IsZero() {
				m["committedAtMillis"] = e.CommittedAt.UnixMilli()
			}
			if e.IsJSON {
				m["value"] = json.RawMessage(e.Value)
			} else {
				m["value"] = nil
				m["valueBase64"] = base64.StdEncoding.EncodeToString(e.Value)
			}
			out = append(out, m)
		}
		return map[string]any{"entries": out}, nil
	}
	return nil, fmt.Errorf("unknown request %q", r.Op)
}

// WorkflowID is the request's workflow id ("" when absent).
func (r request) WorkflowID() string {
	if r.WID == nil {
		return ""
	}
	return *r.WID
}

func listQuery(m map[string]any) (raftoral.ListQuery, error) {
	var q raftoral.ListQuery
	if s, ok := m["statuses"].([]any); ok {
		for _, x := range s {
			name, _ := x.(string)
			q.Statuses = append(q.Statuses, raftoral.Status(name))
		}
	}
	q.Type, _ = m["type"].(string)
	q.Version = gointerp.IntOf(m["version"])
	q.Limit = gointerp.IntOf(m["limit"])
	q.PageToken, _ = m["page_token"].(string)
	for key, dst := range map[string]*time.Time{"started_after": &q.StartedAfter, "started_before": &q.StartedBefore} {
		if s, ok := m[key].(string); ok {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return q, &raftoral.Error{Code: raftoral.CodeInvalidArgument, Message: err.Error()}
			}
			*dst = t
		}
	}
	return q, nil
}

func answer(node *raftoral.Node, r request) {
	v, err := execute(node, r)
	if err == nil {
		gointerp.Send(map[string]any{"rid": r.RID, "ok": v})
		return
	}
	e := map[string]any{"code": canonical(err), "message": err.Error()}
	var re *raftoral.Error
	if errors.As(err, &re) {
		e["message"] = re.Message
		if re.Detail != "" {
			e["detail"] = re.Detail
		}
	}
	gointerp.Send(map[string]any{"rid": r.RID, "error": e})
}

type config struct {
	NodeID             uint64            `json:"node_id"`
	Members            map[string]string `json:"members"`
	APIAddress         string            `json:"api_address"`
	DataDir            string            `json:"data_dir"`
	NodeFailureTimeout int64             `json:"node_failure_timeout_ms"`
	RetentionMs        int64             `json:"retention_ms"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "conformance-go:", err)
		raftoral.Shutdown()
		os.Exit(1)
	}
	raftoral.Shutdown()
}

func run() error {
	var c config
	if len(os.Args) != 2 {
		return errors.New("usage: conformance-go CONFIG_JSON")
	}
	if err := json.Unmarshal([]byte(os.Args[1]), &c); err != nil {
		return err
	}
	if err := gointerp.OpenLog(); err != nil {
		return err
	}
	members := map[uint64]string{}
	for k, v := range c.Members {
		id, err := strconv.ParseUint(k, 10, 64)
		if err != nil {
			return err
		}
		members[id] = v
	}
	node, err := raftoral.NewNode(raftoral.Config{
		NodeID:             c.NodeID,
		Members:            members,
		APIAddress:         c.APIAddress,
		DataDir:            c.DataDir,
		NodeFailureTimeout: time.Duration(c.NodeFailureTimeout) * time.Millisecond,
		Retention:          time.Duration(c.RetentionMs) * time.Millisecond,
	})
	if err != nil {
		return err
	}
	defer node.Close()
	for _, reg := range []struct {
		typ     string
		version int
		mode    raftoral.Mode
		keep    int64
	}{
		{"conformance", 1, raftoral.HotStandby, 0},
		{"conformance", 2, raftoral.HotStandby, 0},
		{"conformance_owner_only", 1, raftoral.OwnerOnly, 0},
		{"conformance_keep_last", 1, raftoral.HotStandby, 2},
	} {
		if err := node.RegisterWorkflow(reg.typ, reg.version, workflow(reg.version), raftoral.WithMode(reg.mode),
			raftoral.KeepLastPerKey(reg.keep)); err != nil {
			return err
		}
	}
	if err := node.Open(); err != nil {
		return err
	}
	id, err := node.ID()
	if err != nil {
		return err
	}
	api, err := node.APIAddress()
	if err != nil {
		return err
	}
	gointerp.Send(map[string]any{"event": "ready", "node_id": id, "api_address": api})
	in := bufio.NewReader(os.Stdin)
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var r request
			if jerr := json.Unmarshal(line, &r); jerr != nil {
				gointerp.Send(map[string]any{"event": "error", "message": jerr.Error()})
			} else if r.Op == "quit" {
				return nil
			} else {
				go answer(node, r)
			}
		}
		if err != nil {
			return nil // stdin closed: the driver is gone
		}
	}
}
