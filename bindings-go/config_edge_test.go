package raftoral

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Edge values of Config: each is an error matching ErrInvalidArgument that names its JSON key,
// never a node created with another value.
func TestConfigEdgeValuesAreInvalidArguments(t *testing.T) {
	for key, cfg := range map[string]Config{
		"election_timeout_ms":     {ElectionTimeout: -time.Second},
		"request_timeout_ms":      {RequestTimeout: time.Duration(-1)},
		"retention_ms":            {Retention: -time.Hour},
		"node_failure_timeout_ms": {NodeFailureTimeout: time.Nanosecond},
		"close_grace_ms":          {CloseGrace: -time.Millisecond},
		"execution_groups":        {ExecutionGroups: -1},
		"max_voters":              {MaxVoters: 1 << 40},
		"target_group_size":       {TargetGroupSize: 100},
		"min_group_size":          {MinGroupSize: -1},
		"max_group_size":          {MaxGroupSize: 4},
		"payload_limit_bytes":     {PayloadLimitBytes: -5},
		"snapshot_threshold":      {SnapshotThreshold: -1 << 63},
		"snapshot_transfer_rate":  {SnapshotTransferRate: -1},
		"snapshot_chunk_bytes":    {SnapshotChunkBytes: 1 << 40},
		"node_id":                 {NodeID: 1<<63 + 1},
		"members":                 {Members: map[uint64]string{0: "127.0.0.1:7001"}},
		"raft_address":            {RaftAddress: " 127.0.0.1:7001"},
		"api_address":             {APIAddress: "localhost"},
		"join":                    {Join: []string{""}},
		"cluster_id":              {ClusterID: "   "},
	} {
		n, err := NewNode(cfg)
		if err == nil {
			n.Close()
		}
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %+v gave %v", key, cfg, err)
		}
	}
}
