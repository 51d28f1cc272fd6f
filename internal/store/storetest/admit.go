package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// quotaAdmit admits a sandbox of cpus while the team's quota allows
// one more, as the lifecycle's admission does.
func quotaAdmit(cpus int) func(store.TeamLoad) error {
	return func(l store.TeamLoad) error {
		switch {
		case l.Deleted:
			return fmt.Errorf("team deleted: %w", errdefs.ErrNotFound)
		case l.Quota.Sandboxes > 0 && l.Sandboxes+1 > l.Quota.Sandboxes:
			return fmt.Errorf("%d sandboxes of %d: %w", l.Sandboxes, l.Quota.Sandboxes, errdefs.ErrResourceExhausted)
		case l.Quota.CPUs > 0 && l.CPUs+cpus > l.Quota.CPUs:
			return fmt.Errorf("%d vCPUs of %d: %w", l.CPUs, l.Quota.CPUs, errdefs.ErrResourceExhausted)
		}
		return nil
	}
}

func teamSandbox(team string, i int) store.Sandbox {
	sb := sandbox(id(team, i))
	sb.ClientID = team
	return sb
}

// testCreateIf checks what admit is shown and that its refusal stores
// nothing.
func (s *suite) testCreateIf(t *testing.T) {
	ctx := context.Background()
	st := s.open(t)
	team := store.Team{ID: "team-q", Name: "Q", Quota: store.Quota{Sandboxes: 3, CPUs: 16, MemoryMB: 4096, DiskBytes: 1 << 30, BuildMinutes: 7}}
	if err := st.CreateTeam(ctx, team); err != nil {
		t.Fatal(err)
	}
	// Live sandboxes of the team count; an ended one and another team's
	// do not.
	live := teamSandbox(team.ID, 0)
	mustCreate(t, st, live)
	ended := teamSandbox(team.ID, 1)
	mustCreate(t, st, ended)
	if err := st.EndSandbox(ctx, ended.ID, store.ReasonKilled, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, st, teamSandbox("team-other", 0))

	var seen store.TeamLoad
	refused := errors.New("refused by admit")
	next := teamSandbox(team.ID, 2)
	err := st.CreateSandboxIf(ctx, next, func(l store.TeamLoad) error { seen = l; return refused })
	if !errors.Is(err, refused) {
		t.Fatalf("refused create: %v, want admit's error", err)
	}
	want := store.TeamLoad{Sandboxes: 1, CPUs: live.CPUCount, MemoryMB: live.MemoryMB, Quota: team.Quota}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("load (-want +got):\n%s", diff)
	}
	wantErr(t, getErr(st, next.ID), errdefs.ErrNotFound, "a refused create stores nothing")

	if err := st.CreateSandboxIf(ctx, next, quotaAdmit(next.CPUCount)); err != nil {
		t.Fatalf("admitted create: %v", err)
	}
	if diff := cmp.Diff(sandboxMatch(next), sandboxMatch(mustGet(t, st, next.ID))); diff != "" {
		t.Errorf("admitted sandbox (-want +got):\n%s", diff)
	}
	if got := eventTypes(mustEvents(t, st, next.ID)); !cmp.Equal(got, []string{store.EventCreated}) {
		t.Errorf("events %v, want created", got)
	}
	wantErr(t, st.CreateSandboxIf(ctx, next, quotaAdmit(1)), errdefs.ErrAlreadyExists, "duplicate id")
	bad := teamSandbox(team.ID, 3)
	bad.State = store.StateEnded
	wantErr(t, st.CreateSandboxIf(ctx, bad, quotaAdmit(1)), errdefs.ErrInvalidArgument, "an ended sandbox")

	// A team the store keeps no row of has no quota; one whose keys
	// outlive its row was deleted.
	err = st.CreateSandboxIf(ctx, teamSandbox("team-unknown", 0), func(l store.TeamLoad) error { seen = l; return nil })
	if err != nil || seen != (store.TeamLoad{}) {
		t.Errorf("a team without a row: %v, load %+v, want no quota and not deleted", err, seen)
	}
	// Nor is a team known only by a live key of its own (made without a
	// row, as auth.Create of a new team name does).
	implicit := apiKey("implicit", t0)
	implicit.Team = "team-implicit"
	mustCreateKey(t, st, implicit)
	err = st.CreateSandboxIf(ctx, teamSandbox("team-implicit", 0), func(l store.TeamLoad) error { seen = l; return nil })
	if err != nil || seen.Deleted {
		t.Errorf("a team known by a live key and no row: %v, load %+v, want not deleted", err, seen)
	}

	// DeleteTeam refuses a team with live sandboxes, then the team is
	// deleted and admit is told so.
	wantErr(t, st.DeleteTeam(ctx, team.ID, time.Time{}), errdefs.ErrFailedPrecondition, "delete a team with live sandboxes")
	if _, err := st.GetTeam(ctx, team.ID); err != nil {
		t.Fatalf("the refused delete removed the team: %v", err)
	}
	k := apiKey("q", t0)
	k.Team = team.ID
	mustCreateKey(t, st, k)
	for _, id := range []string{live.ID, next.ID} {
		if err := st.EndSandbox(ctx, id, store.ReasonKilled, "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.DeleteTeam(ctx, team.ID, time.Time{}); err != nil {
		t.Fatalf("delete a team whose sandboxes ended: %v", err)
	}
	err = st.CreateSandboxIf(ctx, teamSandbox(team.ID, 4), func(l store.TeamLoad) error { seen = l; return quotaAdmit(1)(l) })
	wantErr(t, err, errdefs.ErrNotFound, "a create of a deleted team")
	if !seen.Deleted || seen.Quota != (store.Quota{}) {
		t.Errorf("load of a deleted team %+v, want deleted and no quota", seen)
	}
}

func getErr(st store.Store, id string) error {
	_, err := st.GetSandbox(context.Background(), id)
	return err
}

// sandboxMatch is sb as a comparison needs it: times in UTC.
func sandboxMatch(sb store.Sandbox) store.Sandbox {
	return store.Sandbox{ID: sb.ID, ClientID: sb.ClientID, State: sb.State, CPUCount: sb.CPUCount, MemoryMB: sb.MemoryMB,
		Metadata: sb.Metadata, CreatedAt: sb.CreatedAt.UTC()}
}

// Shared is a backend's handles on one database, as several processes
// (control-plane replicas) open it.
type Shared struct {
	// Open returns n handles on one new, empty database.
	Open func(t *testing.T, n int) []store.Store
	// TeamsApart: the backend writes transactions side by side, so a
	// create of one team does not wait for another team's.
	TeamsApart bool
}

// RunShared runs the tests of several handles on one database: what
// processes sharing it must agree on. The suite closes the handles.
func RunShared(t *testing.T, sh Shared) {
	open := func(t *testing.T, n int) []store.Store {
		sts := sh.Open(t, n)
		t.Cleanup(func() {
			for _, st := range sts {
				if err := st.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			}
		})
		return sts
	}
	t.Run("Shared", func(t *testing.T) {
		t.Run("QuotaRace", func(t *testing.T) { testQuotaRace(t, open) })
		t.Run("CreateWaitsForTeam", func(t *testing.T) { testCreateWaits(t, open, sh.TeamsApart) })
		t.Run("DeleteRace", func(t *testing.T) { testDeleteRace(t, open) })
		t.Run("EventsWatched", func(t *testing.T) { testEventsWatched(t, open) })
	})
}

// testEventsWatched: a store that can tell of events (EventWatcher)
// tells a handle of the events another records.
func testEventsWatched(t *testing.T, open func(*testing.T, int) []store.Store) {
	sts := open(t, 2)
	w, ok := sts[0].(store.EventWatcher)
	if !ok {
		t.Skip("the backend does not tell of events")
	}
	ctx, cancel := context.WithCancel(context.Background())
	changed := make(chan struct{}, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.WatchEvents(ctx, func() { changed <- struct{}{} })
	}()
	defer func() { cancel(); <-done }()
	wait := func(what string) {
		t.Helper()
		select {
		case <-changed:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: not told", what)
		}
	}
	wait("the watch's start")
	drain := func() {
		for {
			select {
			case <-changed:
			case <-time.After(200 * time.Millisecond):
				return
			}
		}
	}
	drain()
	sb := sandbox("watched")
	mustCreate(t, sts[1], sb)
	wait("a create through another handle")
	drain()
	if err := sts[1].EndSandbox(context.Background(), sb.ID, store.ReasonKilled, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	wait("an end through another handle")
	drain()
	// A write that records no event tells nothing.
	if err := sts[1].CreateTeam(context.Background(), store.Team{ID: "team-quiet", Name: "quiet"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
		t.Errorf("told of a write that recorded no event")
	case <-time.After(300 * time.Millisecond):
	}
}

// testQuotaRace: creates racing through several handles for a team's
// quota of n sandboxes (and, for another team, of n sandboxes' vCPUs):
// exactly n pass.
func testQuotaRace(t *testing.T, open func(*testing.T, int) []store.Store) {
	ctx := context.Background()
	sts := open(t, 3)
	const quota, racers = 5, 30
	teams := []store.Team{
		{ID: "team-count", Name: "count", Quota: store.Quota{Sandboxes: quota}},
		{ID: "team-cpu", Name: "cpu", Quota: store.Quota{CPUs: quota * 2}}, // sandbox() asks 2
	}
	for _, tm := range teams {
		if err := sts[0].CreateTeam(ctx, tm); err != nil {
			t.Fatal(err)
		}
	}
	for _, tm := range teams {
		var (
			wg        sync.WaitGroup
			start     = make(chan struct{})
			won, lost atomic.Int32
		)
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				sb := teamSandbox(tm.ID, i)
				err := sts[i%len(sts)].CreateSandboxIf(ctx, sb, quotaAdmit(sb.CPUCount))
				switch {
				case err == nil:
					won.Add(1)
				case errors.Is(err, errdefs.ErrResourceExhausted):
					lost.Add(1)
				default:
					t.Errorf("create %s: %v", sb.ID, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if won.Load() != quota || lost.Load() != racers-quota {
			t.Errorf("%s: %d creates passed and %d were refused, want %d and %d", tm.ID, won.Load(), lost.Load(), quota, racers-quota)
		}
		for i, st := range sts {
			list, err := st.ListSandboxes(ctx, store.SandboxFilter{Team: tm.ID})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != quota {
				t.Errorf("%s: handle %d lists %d sandboxes, want %d", tm.ID, i, len(list), quota)
			}
		}
	}
}

// testCreateWaits holds one create of a team between its admission and
// its commit: another handle's create of the team waits for it (and
// then finds the last place taken), another team's does not where the
// backend writes side by side.
func testCreateWaits(t *testing.T, open func(*testing.T, int) []store.Store, apart bool) {
	ctx := context.Background()
	sts := open(t, 2)
	if err := sts[0].CreateTeam(ctx, store.Team{ID: "team-a", Name: "A", Quota: store.Quota{Sandboxes: 1}}); err != nil {
		t.Fatal(err)
	}
	admitted := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	first := make(chan error, 1)
	go func() {
		first <- sts[0].CreateSandboxIf(ctx, teamSandbox("team-a", 0), func(l store.TeamLoad) error {
			once.Do(func() { close(admitted) })
			<-release
			return quotaAdmit(1)(l)
		})
	}()
	<-admitted
	second := make(chan error, 1)
	go func() { second <- sts[1].CreateSandboxIf(ctx, teamSandbox("team-a", 1), quotaAdmit(1)) }()
	if apart {
		other := teamSandbox("team-b", 0)
		if err := sts[1].CreateSandboxIf(ctx, other, quotaAdmit(1)); err != nil {
			t.Fatalf("another team's create while team-a's is held: %v", err)
		}
	}
	select {
	case err := <-second:
		close(release)
		t.Fatalf("a create of team-a did not wait for the one under way: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first create: %v", err)
	}
	wantErr(t, <-second, errdefs.ErrResourceExhausted, "the create that waited for the last place")
}

// testDeleteRace deletes a team through one handle while creates of it
// go through another: either a create came first and the delete is
// refused, or the delete came first and no create was recorded after.
func testDeleteRace(t *testing.T, open func(*testing.T, int) []store.Store) {
	ctx := context.Background()
	sts := open(t, 2)
	for round := range 10 {
		team := fmt.Sprintf("team-del-%d", round)
		if err := sts[0].CreateTeam(ctx, store.Team{ID: team, Name: team}); err != nil {
			t.Fatal(err)
		}
		k := apiKey(fmt.Sprintf("del-%d", round), t0)
		k.Team = team
		mustCreateKey(t, sts[0], k)
		var wg sync.WaitGroup
		start := make(chan struct{})
		var created atomic.Int32
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				err := sts[1].CreateSandboxIf(ctx, teamSandbox(team, i), quotaAdmit(1))
				switch {
				case err == nil:
					created.Add(1)
				case errdefs.IsNotFound(err):
				default:
					t.Errorf("create: %v", err)
				}
			}()
		}
		close(start)
		delErr := sts[0].DeleteTeam(ctx, team, time.Time{})
		wg.Wait()
		list, err := sts[0].ListSandboxes(ctx, store.SandboxFilter{Team: team})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case delErr == nil && len(list) > 0:
			t.Fatalf("round %d: the team was deleted, yet %d sandboxes of it were recorded", round, len(list))
		case delErr != nil && !errors.Is(delErr, errdefs.ErrFailedPrecondition):
			t.Fatalf("round %d: delete: %v", round, delErr)
		case delErr != nil && len(list) == 0:
			t.Fatalf("round %d: delete refused (%v) with no sandbox recorded", round, delErr)
		}
		if int(created.Load()) != len(list) {
			t.Fatalf("round %d: %d creates succeeded, %d recorded", round, created.Load(), len(list))
		}
	}
}
