package raftoral

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Child mode: the test binary re-executed as one node process of a cluster (cluster_test.go).
// Its config comes in $RAFTORAL_GO_TEST_CONFIG; it prints "ready <node id>" once open, then
// answers one JSON command per stdin line with one JSON line, and exits when stdin closes.

const childEnv = "RAFTORAL_GO_TEST_CHILD"

// stepsInput is the input of the "steps" workflows: Steps compute steps on key "step"; after
// Gate of them, the run waits for the file Dir/gate-<workflow id> to appear.
type stepsInput struct {
	Dir   string `json:"dir"`
	Steps int    `json:"steps"`
	Gate  int    `json:"gate"`
}

// stepValue is what step Step committed: the process that ran its side effect.
type stepValue struct {
	Step int `json:"step"`
	PID  int `json:"pid"`
}

// stepsWorkflow runs side effects that append "<workflow id> <step> <pid>" to Dir/effects.log,
// so the test can count how often each step really ran, in which process.
func stepsWorkflow(ctx *Context, in stepsInput) ([]stepValue, error) {
	var out []stepValue
	for i := 1; i <= in.Steps; i++ {
		if i == in.Gate+1 {
			gate := filepath.Join(in.Dir, "gate-"+ctx.WorkflowID())
			for {
				if _, err := os.Stat(gate); err == nil {
					break
				}
				if ctx.IsTerminated() {
					return nil, ErrTerminated
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		v, err := CheckpointCompute(ctx, "step", func() (stepValue, error) {
			f, err := os.OpenFile(filepath.Join(in.Dir, "effects.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return stepValue{}, err
			}
			defer f.Close()
			if _, err := fmt.Fprintf(f, "%s %d %d\n", ctx.WorkflowID(), i, os.Getpid()); err != nil {
				return stepValue{}, err
			}
			return stepValue{Step: i, PID: os.Getpid()}, nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func registerStepsWorkflows(n *Node) error {
	if err := RegisterTyped(n, "steps", 1, stepsWorkflow); err != nil {
		return err
	}
	return RegisterTyped(n, "steps-owner-only", 1, stepsWorkflow, WithMode(OwnerOnly))
}

// childCommand is one line of the parent on stdin.
type childCommand struct {
	Op    string          `json:"op"` // "start", "describe" or "await"
	Type  string          `json:"type,omitempty"`
	ID    string          `json:"id,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
}

// childReply is the answer to one childCommand.
type childReply struct {
	Result json.RawMessage `json:"result,omitempty"`
	Info   *WorkflowInfo   `json:"info,omitempty"`
	Error  string          `json:"error,omitempty"`
}

func childMain() int {
	defer Shutdown()
	var cfg Config
	if err := json.Unmarshal([]byte(os.Getenv("RAFTORAL_GO_TEST_CONFIG")), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "child config:", err)
		return 2
	}
	node, err := NewNode(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "NewNode:", err)
		return 2
	}
	defer node.Close()
	if err := registerStepsWorkflows(node); err != nil {
		fmt.Fprintln(os.Stderr, "register:", err)
		return 2
	}
	if err := node.Open(); err != nil {
		fmt.Fprintln(os.Stderr, "Open:", err)
		return 2
	}
	id, err := node.ID()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ID:", err)
		return 2
	}
	fmt.Printf("ready %d\n", id)
	in := bufio.NewScanner(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var cmd childCommand
		var reply childReply
		if err := json.Unmarshal(in.Bytes(), &cmd); err != nil {
			reply.Error = err.Error()
		} else if err := serveCommand(node, cmd, &reply); err != nil {
			reply.Error = err.Error()
		}
		if err := out.Encode(reply); err != nil {
			return 2
		}
	}
	return 0
}

func serveCommand(node *Node, cmd childCommand, reply *childReply) error {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	switch cmd.Op {
	case "start":
		_, err := node.Start(ctx, cmd.Type, 1, cmd.Input, WithWorkflowID(cmd.ID))
		return err
	case "describe":
		info, err := node.Describe(cmd.ID)
		reply.Info = info
		return err
	case "await":
		result, err := node.Handle(cmd.ID).Result(ctx)
		reply.Result = result
		return err
	}
	return errors.New("unknown op " + cmd.Op)
}
