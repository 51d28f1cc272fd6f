package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

func (s *suite) testCreateGet(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	t.Run("RoundTrip", func(t *testing.T) {
		want := sandbox("full")
		want.StartedAt = at(time.Second)
		mustCreate(t, st, want)
		got := mustGet(t, st, want.ID)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("get after create (-want +got):\n%s", diff)
		}
	})
	t.Run("MinimalSandbox", func(t *testing.T) {
		// Only what a sandbox must have; every other field stays zero,
		// and metadata without entries comes back nil.
		want := store.Sandbox{ID: "minimal", TemplateID: "base", State: store.StateStarting, CreatedAt: t0}
		mustCreate(t, st, want)
		if diff := cmp.Diff(want, mustGet(t, st, want.ID)); diff != "" {
			t.Errorf("get after create (-want +got):\n%s", diff)
		}
		empty := store.Sandbox{ID: "empty-metadata", TemplateID: "base", State: store.StateRunning,
			CreatedAt: t0, Metadata: map[string]string{}}
		mustCreate(t, st, empty)
		if got := mustGet(t, st, empty.ID).Metadata; got != nil {
			t.Errorf("empty metadata came back as %#v, want nil", got)
		}
	})
	t.Run("MetadataValues", func(t *testing.T) {
		want := sandbox("metadata")
		want.Metadata = map[string]string{
			"empty": "", "unicode": "žluťoučký 🐴", "quote'": `"double"`, "with space": "a=b; c",
			"percent%": "100%", "long": strings.Repeat("x", 4096),
		}
		mustCreate(t, st, want)
		if diff := cmp.Diff(want.Metadata, mustGet(t, st, want.ID).Metadata); diff != "" {
			t.Errorf("metadata (-want +got):\n%s", diff)
		}
	})
	t.Run("CreatedEvent", func(t *testing.T) {
		sb := sandbox("created-event")
		sb.CreatedAt = at(time.Hour)
		mustCreate(t, st, sb)
		evs := mustEvents(t, st, sb.ID)
		if len(evs) != 1 {
			t.Fatalf("events after create: %+v, want one", evs)
		}
		if e := evs[0]; e.Type != store.EventCreated || e.SandboxID != sb.ID || !e.Time.Equal(sb.CreatedAt) || e.ID == 0 {
			t.Errorf("created event = %+v, want type %q for %s at %v with an id", e, store.EventCreated, sb.ID, sb.CreatedAt)
		}
	})
	t.Run("ZeroCreatedAtIsNow", func(t *testing.T) {
		sb := sandbox("created-now")
		sb.CreatedAt = time.Time{}
		before := time.Now().Add(-time.Millisecond)
		mustCreate(t, st, sb)
		after := time.Now().Add(time.Millisecond)
		got := mustGet(t, st, sb.ID).CreatedAt
		if got.Before(before) || got.After(after) {
			t.Errorf("CreatedAt = %v, want between %v and %v", got, before, after)
		}
		if evs := mustEvents(t, st, sb.ID); len(evs) != 1 || !evs[0].Time.Equal(got) {
			t.Errorf("created event %+v, want one at %v", evs, got)
		}
	})
	t.Run("CallerKeepsItsCopies", func(t *testing.T) {
		sb := sandbox("copies")
		mustCreate(t, st, sb)
		sb.Metadata["team"] = "changed after create"
		got := mustGet(t, st, sb.ID)
		if got.Metadata["team"] != "infra" {
			t.Errorf("changing the caller's map after create changed the store: %v", got.Metadata)
		}
		got.Metadata["team"] = "changed after get"
		if again := mustGet(t, st, sb.ID); again.Metadata["team"] != "infra" {
			t.Errorf("changing a returned map changed the store: %v", again.Metadata)
		}
	})
	t.Run("ListReturnsFullRecords", func(t *testing.T) {
		list, err := st.ListSandboxes(ctx, store.SandboxFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, sb := range list {
			if diff := cmp.Diff(mustGet(t, st, sb.ID), sb); diff != "" {
				t.Errorf("list entry of %s differs from get (-get +list):\n%s", sb.ID, diff)
			}
		}
	})
}

func (s *suite) testTimes(t *testing.T) {
	st := s.open(t)
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	fine := time.Date(2025, 3, 14, 15, 9, 26, 535_897_932, zone)
	sb := sandbox("times")
	sb.CreatedAt = fine
	sb.StartedAt = fine.Add(time.Second)
	sb.EndAt = fine.Add(time.Hour)
	mustCreate(t, st, sb)
	got := mustGet(t, st, sb.ID)
	for _, tc := range []struct {
		name      string
		got, want time.Time
	}{
		{"CreatedAt", got.CreatedAt, sb.CreatedAt},
		{"StartedAt", got.StartedAt, sb.StartedAt},
		{"EndAt", got.EndAt, sb.EndAt},
	} {
		if tc.got.Location() != time.UTC {
			t.Errorf("%s in %v, want UTC", tc.name, tc.got.Location())
		}
		if d := tc.got.Sub(tc.want); d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("%s = %v, want %v to the millisecond", tc.name, tc.got, tc.want)
		}
	}
	if err := st.EndSandbox(context.Background(), sb.ID, store.ReasonKilled, "", fine.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got = mustGet(t, st, sb.ID)
	if got.EndedAt == nil || got.EndedAt.Location() != time.UTC || got.EndedAt.Sub(fine.Add(2*time.Hour)).Abs() > time.Millisecond {
		t.Errorf("EndedAt = %v, want %v in UTC", got.EndedAt, fine.Add(2*time.Hour))
	}
	for _, e := range mustEvents(t, st, sb.ID) {
		if e.Time.Location() != time.UTC {
			t.Errorf("%s event time in %v, want UTC", e.Type, e.Time.Location())
		}
	}
}

func (s *suite) testDuplicate(t *testing.T) {
	st := s.open(t)
	first := sandbox("dup")
	mustCreate(t, st, first)
	second := sandbox("dup")
	second.TemplateID = "other"
	second.Metadata = map[string]string{"second": "yes"}
	err := st.CreateSandbox(context.Background(), second)
	wantErr(t, err, errdefs.ErrAlreadyExists, "second create")
	if err != nil && !strings.Contains(err.Error(), "dup") {
		t.Errorf("error %q does not name the sandbox", err)
	}
	if diff := cmp.Diff(first, mustGet(t, st, first.ID)); diff != "" {
		t.Errorf("first sandbox changed by the duplicate create (-want +got):\n%s", diff)
	}
	if evs := mustEvents(t, st, first.ID); len(evs) != 1 {
		t.Errorf("events after duplicate create: %v, want one created", eventTypes(evs))
	}
}

func (s *suite) testNotFound(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	mustCreate(t, st, sandbox("exists"))
	const missing = "no-such-sandbox"
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := st.GetSandbox(ctx, missing); return err }},
		{"SetState", func() error {
			return st.SetState(ctx, missing, []store.SandboxState{store.StateStarting}, store.StateRunning,
				store.Event{Type: store.EventStarted})
		}},
		{"EndSandbox", func() error { return st.EndSandbox(ctx, missing, store.ReasonKilled, "", t0) }},
		{"SetEndAt", func() error { return st.SetEndAt(ctx, missing, t0) }},
		{"ListEvents", func() error { _, err := st.ListEvents(ctx, missing); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			wantErr(t, err, errdefs.ErrNotFound, tc.name)
			if err != nil && !strings.Contains(err.Error(), missing) {
				t.Errorf("error %q does not name the sandbox", err)
			}
		})
	}
	// A sandbox of a prefix or different case is another sandbox.
	for _, near := range []string{"exist", "EXISTS", "exists "} {
		if _, err := st.GetSandbox(ctx, near); !errdefs.IsNotFound(err) {
			t.Errorf("get %q: %v, want not found", near, err)
		}
	}
}
