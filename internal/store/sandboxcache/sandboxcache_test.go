package sandboxcache

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
	"github.com/soulbox/soulbox/internal/store/storetest"
)

// TestConformance: the wrapper is still a store.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
		if err != nil {
			t.Fatal(err)
		}
		return Wrap(st, time.Minute)
	})
}

// blocking is a store whose GetSandbox, once armed, reads and then waits
// before it answers: a read under way.
type blocking struct {
	store.Store
	read, release chan struct{}
}

func (b *blocking) GetSandbox(ctx context.Context, id string) (store.Sandbox, error) {
	sb, err := b.Store.GetSandbox(ctx, id)
	if b.read != nil {
		b.read <- struct{}{}
		<-b.release
	}
	return sb, err
}

// open returns a cached store over a SQLite file, the clock it reads, a
// second handle on the same file (another process) and the inner store,
// holding one running sandbox "sb1".
func open(t *testing.T) (*Store, *time.Time, *sqlite.Store, *blocking) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "soulbox.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	other, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	inner := &blocking{Store: db}
	now := time.Now()
	s := Wrap(inner, time.Second)
	s.now = func() time.Time { return now }
	sb := store.Sandbox{ID: "sb1", TemplateID: "base", State: store.StateRunning,
		CPUCount: 1, MemoryMB: 256, DiskMB: 1024, Metadata: map[string]string{"k": "v"},
		EndAt: now.Add(time.Minute), Network: &store.NetworkConfig{AllowOut: []string{"10.0.0.0/8"}}}
	if err := s.CreateSandbox(ctx, sb); err != nil {
		t.Fatal(err)
	}
	return s, &now, other, inner
}

func get(t *testing.T, s store.Store, id string) store.Sandbox {
	t.Helper()
	sb, err := s.GetSandbox(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return sb
}

// A change through the cache is seen at once, whichever write made it.
func TestChangeThroughCacheSeenAtOnce(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change func(s *Store) error
		check  func(sb store.Sandbox) bool
	}{
		{"pause", func(s *Store) error {
			return s.SetState(ctx, "sb1", []store.SandboxState{store.StateRunning}, store.StatePaused, store.Event{Type: store.EventPaused})
		}, func(sb store.Sandbox) bool { return sb.State == store.StatePaused }},
		{"kill", func(s *Store) error {
			return s.EndSandbox(ctx, "sb1", store.ReasonKilled, "", time.Time{})
		}, func(sb store.Sandbox) bool { return sb.State == store.StateEnded }},
		{"set timeout", func(s *Store) error {
			return s.SetEndAt(ctx, "sb1", time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
		}, func(sb store.Sandbox) bool { return sb.EndAt.Year() == 2031 }},
		{"network", func(s *Store) error {
			return s.SetNetwork(ctx, "sb1", store.NetworkConfig{MaskRequestHost: "x:${PORT}"})
		}, func(sb store.Sandbox) bool { return sb.Network != nil && sb.Network.MaskRequestHost == "x:${PORT}" }},
		{"move", func(s *Store) error {
			if err := s.SetState(ctx, "sb1", []store.SandboxState{store.StateRunning}, store.StateResuming, store.Event{Type: store.EventResuming}); err != nil {
				return err
			}
			if _, err := s.GetSandbox(ctx, "sb1"); err != nil { // cached while resuming
				return err
			}
			return s.MoveSandbox(ctx, "sb1", "", "node-b", store.Event{Type: store.EventResuming, Message: "moved"})
		}, func(sb store.Sandbox) bool { return sb.Node == "node-b" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _, _ := open(t)
			if tc.check(get(t, s, "sb1")) {
				t.Fatal("changed before the change")
			}
			if err := tc.change(s); err != nil {
				t.Fatal(err)
			}
			if !tc.check(get(t, s, "sb1")) {
				t.Errorf("the change is not seen through the cache: %+v", get(t, s, "sb1"))
			}
		})
	}
}

// A change by another process is seen within TTL, and a read within TTL
// is answered from memory.
func TestOtherProcessWithinTTL(t *testing.T) {
	ctx := context.Background()
	s, now, other, _ := open(t)
	get(t, s, "sb1")
	if err := other.EndSandbox(ctx, "sb1", store.ReasonKilled, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "sb1").State; got != store.StateRunning {
		t.Errorf("read within TTL: %s, want the cached running", got)
	}
	*now = now.Add(time.Second)
	if got := get(t, s, "sb1").State; got != store.StateEnded {
		t.Errorf("read after TTL: %s, want ended", got)
	}
}

// A read under way while the sandbox changes does not keep the record it
// read from before the change.
func TestReadUnderWayDoesNotKeepStale(t *testing.T) {
	ctx := context.Background()
	s, _, _, inner := open(t)
	inner.read, inner.release = make(chan struct{}), make(chan struct{})
	done := make(chan store.Sandbox)
	go func() {
		sb, _ := s.GetSandbox(ctx, "sb1")
		done <- sb
	}()
	<-inner.read // read the running record, not answered yet
	inner.read = nil
	if err := s.EndSandbox(ctx, "sb1", store.ReasonKilled, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	close(inner.release)
	if sb := <-done; sb.State != store.StateRunning {
		t.Fatalf("the read under way got %s, want the running it read", sb.State)
	}
	if got := get(t, s, "sb1").State; got != store.StateEnded {
		t.Errorf("after the kill: %s, want ended (the read under way kept its stale record)", got)
	}
}

// Two reads across a kill: one that started before it and answers last
// does not replace the record of one that started after it. Whatever
// order they answer in, the sandbox is seen ended.
func TestSlowReadDoesNotReplaceFresher(t *testing.T) {
	ctx := context.Background()
	s, _, _, inner := open(t)
	inner.read, inner.release = make(chan struct{}), make(chan struct{})
	done := make(chan store.Sandbox)
	go func() {
		sb, _ := s.GetSandbox(ctx, "sb1")
		done <- sb
	}()
	<-inner.read // the first read has the running record, not answered yet
	inner.read = nil
	if err := s.EndSandbox(ctx, "sb1", store.ReasonKilled, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "sb1").State; got != store.StateEnded {
		t.Fatalf("the read after the kill: %s, want ended", got)
	}
	close(inner.release)
	if sb := <-done; sb.State != store.StateRunning {
		t.Fatalf("the read under way got %s, want the running it read", sb.State)
	}
	if got := get(t, s, "sb1").State; got != store.StateEnded {
		t.Errorf("after both reads: %s, want ended (the slow read replaced the fresher record)", got)
	}
}

// What a caller is given is its own: changing it changes nothing cached.
func TestCopies(t *testing.T) {
	s, _, _, _ := open(t)
	sb := get(t, s, "sb1")
	sb.Metadata["k"] = "changed"
	sb.Network.AllowOut[0] = "changed"
	sb = get(t, s, "sb1")
	if sb.Metadata["k"] != "v" || sb.Network.AllowOut[0] != "10.0.0.0/8" {
		t.Errorf("the cache shares its record with callers: %+v %+v", sb.Metadata, sb.Network)
	}
}

// An unknown sandbox is not cached: one made by another process is found
// at once.
func TestUnknownNotCached(t *testing.T) {
	ctx := context.Background()
	s, _, other, _ := open(t)
	if _, err := s.GetSandbox(ctx, "sb2"); !errdefs.IsNotFound(err) {
		t.Fatalf("unknown sandbox: %v", err)
	}
	if err := other.CreateSandbox(ctx, store.Sandbox{ID: "sb2", TemplateID: "base", State: store.StateRunning, CPUCount: 1, MemoryMB: 256, DiskMB: 1024}); err != nil {
		t.Fatal(err)
	}
	get(t, s, "sb2")
}

// Every method of store.Store is either a write this cache forgets a
// sandbox on, or one that changes no sandbox record. A new method must be
// put in one list or the other, so that a new way to change a sandbox is
// never left serving stale records.
func TestEveryMethodClassified(t *testing.T) {
	writes := map[string]bool{
		"CreateSandbox": true, "CreateSandboxIf": true, "SetState": true, "EndSandbox": true, "SetEndAt": true, "SetNetwork": true, "MoveSandbox": true,
		"DeleteTeam": true,
	}
	others := map[string]bool{
		"GetSandbox": true, "ListSandboxes": true, "ListEvents": true, "EventsAfter": true, "Close": true,
		"CreateAPIKey": true, "APIKeyByHash": true, "ListAPIKeys": true, "RevokeAPIKey": true, "TouchAPIKey": true,
		"CountAPIKeys": true, "ListTeamAPIKeys": true, "RenameAPIKey": true,
		"CreateTeam": true, "GetTeam": true, "ListTeams": true, "RenameTeam": true, "SetTeamQuota": true,
		"CreateTemplate": true, "GetTemplate": true, "ListTemplates": true, "SetTemplatePublic": true,
		"SetTemplatePool": true, "DeleteTemplate": true, "CreateBuild": true, "GetBuild": true, "ListBuilds": true,
		"StartBuild": true, "FinishBuild": true, "FailUnfinishedBuilds": true, "ListBuildUsage": true,
		"AppendBuildLogs": true, "BuildLogs": true, "SetTags": true, "DeleteTags": true, "ListTags": true,
		"AddMetrics": true, "ListMetrics": true, "LatestMetric": true, "DownsampleMetrics": true,
		"PruneMetrics": true, "SandboxSpans": true,
		"AppendAudit": true, "ListAudit": true, "PruneAudit": true, "AuditAnchor": true,
		"CreateNodeToken": true, "ListNodeTokens": true, "RevokeNodeToken": true, "JoinNode": true,
		"EnsureNode": true, "GetNode": true, "ListNodes": true, "RecordNodeHeartbeat": true,
		"SetNodeStatus": true, "MarkNodeSilent": true, "NodeTokenByHash": true, "DeleteNode": true,
		"NodeUsage": true, "SetNodeCertificate": true, "ClaimKeyFingerprint": true,
		"CreateAccessToken": true, "GetAccessToken": true, "RevokeAccessToken": true, "PruneAccessTokens": true,
		"CreateSecret": true, "GetSecret": true, "ListSecrets": true, "UpdateSecret": true, "DeleteSecret": true,
		"SetCheckpointObject": true, "CheckpointObject": true, "DeleteCheckpointObject": true,
		"AddLayerBlob": true, "LayerBlob": true, "DeleteLayerBlob": true,
		"CreateUser": true, "GetUser": true, "UserByEmail": true, "BindUserSubject": true, "AddMember": true,
		"GetMember": true, "ListMembers": true, "ListUserTeams": true, "SetMemberRole": true, "RemoveMember": true,
	}
	it := reflect.TypeFor[store.Store]()
	for i := range it.NumMethod() {
		if name := it.Method(i).Name; !writes[name] && !others[name] {
			t.Errorf("store.Store.%s is new: if it can change a sandbox record, forget the sandbox in it (sandboxcache.go) and list it in writes; otherwise list it in others", name)
		}
	}
}
