// Package codes is the one table of error codes of the Go packages: the embedded binding
// (raftoral) and the worker library (raftoral/worker) each declare their own Code type,
// constants, sentinels and Error type over it. The numbers are those of raftoral_status_enum
// (raftoral.h) and of ErrorCode (client_api.proto); ErrorCodeTablesTest checks them against the
// Java enum io.raftoral.common.ErrorCode.
package codes

import "errors"

type entry struct {
	name string // as raftoral.h after RAFTORAL_ERR_ and client_api.proto after ERR_
	text string // the sentinel's text after its package's prefix
}

// table holds the codes by number; 0 is OK, no error.
var table = [...]entry{
	1:  {"INVALID_ARGUMENT", "invalid argument"},
	2:  {"INVALID_HANDLE", "invalid handle"},
	3:  {"NOT_INITIALIZED", "not initialized"},
	4:  {"SHUT_DOWN", "shut down"},
	5:  {"BUFFER_TOO_SMALL", "buffer too small"},
	6:  {"NOT_FOUND", "not found"},
	7:  {"ALREADY_EXISTS", "already exists"},
	8:  {"NOT_REGISTERED", "not registered"},
	9:  {"ALREADY_REGISTERED", "already registered"},
	10: {"TIMEOUT", "timeout"},
	11: {"WORKFLOW_FAILED", "workflow failed"},
	12: {"WORKFLOW_TERMINATED", "workflow terminated"},
	13: {"PAYLOAD_TOO_LARGE", "payload too large"},
	14: {"UNAVAILABLE", "unavailable"},
	15: {"NODE_CLOSED", "node closed"},
	16: {"ABORTED", "aborted"},
	17: {"CALLBACK_FAILED", "callback failed"},
	18: {"JVM", "JVM could not be started"},
	19: {"INTERNAL", "internal error"},
	20: {"FORKED", "process forked"},
	21: {"NODE_REMOVED", "node removed from the cluster"},
	22: {"CODEC", "codec error"},
	23: {"UNAUTHENTICATED", "not authenticated"},
	24: {"PERMISSION_DENIED", "permission denied"},
}

// Name is the name of an error code (e.g. "NOT_FOUND" for 6), false for 0 and unknown numbers.
func Name(code int32) (string, bool) {
	if code <= 0 || int(code) >= len(table) {
		return "", false
	}
	return table[code].name, true
}

// Sentinels is one sentinel error per code, indexed by its number ([0], OK, is nil).
type Sentinels []error

// NewSentinels makes the sentinels of a package: each says "<prefix>: <text>".
func NewSentinels(prefix string) Sentinels {
	s := make(Sentinels, len(table))
	for code := 1; code < len(table); code++ {
		s[code] = errors.New(prefix + ": " + table[code].text)
	}
	return s
}

// Is reports whether target is the sentinel of code.
func (s Sentinels) Is(code int32, target error) bool {
	return code > 0 && int(code) < len(s) && s[code] == target
}
