// Package storetest is the conformance suite every store.Store backend must
// pass. TestStore in this package runs it against each backend as a subtest
// named after it (TestStore/sqlite/..., TestStore/postgres/...); a new
// backend adds itself to the list in backends_test.go:
//
//	{"sqlite", func(testing.TB) func(t testing.TB) store.Store {
//		return func(t testing.TB) store.Store {
//			s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "soulbox.db"))
//			...
//		}
//	}},
//
// What the suite cannot see through the interface (durability across a
// restart, file permissions, schema versions) is each backend's own test.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// Run runs the suite. newStore must return a new, empty store each time it
// is called; the suite closes it when the test that asked for it ends.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := &suite{newStore: newStore}
	t.Run("CreateGet", s.testCreateGet)
	t.Run("Times", s.testTimes)
	t.Run("DuplicateID", s.testDuplicate)
	t.Run("NotFound", s.testNotFound)
	t.Run("ListFilters", s.testListFilters)
	t.Run("ListOrder", s.testListOrder)
	t.Run("SetState", s.testSetState)
	t.Run("SetStateRefused", s.testSetStateRefused)
	t.Run("Transitions", s.testTransitions)
	t.Run("EndSandbox", s.testEnd)
	t.Run("EndTwice", s.testEndTwice)
	t.Run("SetEndAt", s.testSetEndAt)
	t.Run("SetNetwork", s.testSetNetwork)
	t.Run("EnvVars", s.testEnvVars)
	t.Run("Events", s.testEvents)
	t.Run("EventsAfter", s.testEventsAfter)
	t.Run("CreateRunning", s.testCreateRunning)
	t.Run("CreateIf", s.testCreateIf)
	t.Run("InvalidInput", s.testInvalid)
	t.Run("Text", s.testText)
	t.Run("TextOrder", s.testTextOrder)
	t.Run("CanceledContext", s.testCanceled)
	t.Run("ConcurrentLifecycles", s.testConcurrentLifecycles)
	t.Run("ConcurrentCompareAndSet", s.testConcurrentCAS)
	t.Run("ConcurrentEnd", s.testConcurrentEnd)
	t.Run("APIKeys", s.testAPIKeys)
	t.Run("Teams", s.testTeams)
	t.Run("Audit", s.testAudit)
	t.Run("AccessTokens", s.testAccessTokens)
	t.Run("Secrets", s.testSecrets)
	t.Run("Members", s.testMembers)
	t.Run("Templates", s.testTemplates)
	t.Run("BuildUsage", s.testBuildUsage)
	t.Run("FinishWhileDeleting", s.testFinishWhileDeleting)
	t.Run("Metrics", s.testMetrics)
	t.Run("SandboxSpans", s.testSandboxSpans)
	t.Run("LatestMetric", s.testLatestMetric)
	t.Run("MetricBuckets", s.testMetricBuckets)
	t.Run("Nodes", s.testNodes)
	t.Run("NodesSilentDelete", s.testNodesSilentDelete)
	t.Run("CheckpointObjects", s.testCheckpointObjects)
	t.Run("LayerBlobs", s.testLayerBlobs)
	t.Run("SandboxNode", s.testSandboxNode)
	t.Run("MoveSandbox", s.testMoveSandbox)
	t.Run("NodeUsage", s.testNodeUsage)
	t.Run("NodeCertificate", s.testNodeCertificate)
	t.Run("KeyFingerprints", s.testKeyFingerprints)
}

type suite struct {
	newStore func(t *testing.T) store.Store
}

// open returns a new empty store, closed when t ends.
func (s *suite) open(t *testing.T) store.Store {
	t.Helper()
	st := s.newStore(t)
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return st
}

// t0 is the suite's reference time: in UTC and whole milliseconds, the
// precision every backend keeps, so it must round-trip exactly.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// sandbox returns a valid new sandbox with every field that a new sandbox
// may have set.
func sandbox(id string) store.Sandbox {
	return store.Sandbox{
		ID:              id,
		TemplateID:      "base",
		Alias:           "py-" + id,
		ClientID:        "client-1",
		State:           store.StateStarting,
		CPUCount:        2,
		MemoryMB:        512,
		DiskMB:          2048,
		Metadata:        map[string]string{"team": "infra", "owner": id},
		EnvdAccessToken: "token-" + id,
		CreatedAt:       t0,
		EndAt:           at(5 * time.Minute),
		Runtime:         "oci/runc",
		Network: &store.NetworkConfig{AllowInternetAccess: false, AllowOut: []string{"10.1.0.0/16", "192.0.2.7/32"},
			DenyOut: []string{"0.0.0.0/0"}, AllowPublicTraffic: false, MaskRequestHost: "localhost:${PORT}"},
		TrafficAccessToken: "traffic-" + id,
		Lifecycle:          store.Lifecycle{AutoPause: true, AutoResume: true},
	}
}

func mustCreate(t *testing.T, st store.Store, sb store.Sandbox) {
	t.Helper()
	if err := st.CreateSandbox(context.Background(), sb); err != nil {
		t.Fatalf("create %s: %v", sb.ID, err)
	}
}

func mustGet(t *testing.T, st store.Store, id string) store.Sandbox {
	t.Helper()
	sb, err := st.GetSandbox(context.Background(), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return sb
}

func mustEvents(t *testing.T, st store.Store, id string) []store.Event {
	t.Helper()
	evs, err := st.ListEvents(context.Background(), id)
	if err != nil {
		t.Fatalf("events of %s: %v", id, err)
	}
	return evs
}

func eventTypes(evs []store.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

// wantErr fails the test unless err is in the category want.
func wantErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", what, err, want)
	}
}

func id(prefix string, i int) string { return fmt.Sprintf("%s-%03d", prefix, i) }
