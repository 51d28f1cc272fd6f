package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

func (s *suite) testInvalid(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()

	t.Run("Create", func(t *testing.T) {
		ended := t0
		for _, tc := range []struct {
			name   string
			change func(sb *store.Sandbox)
		}{
			{"EmptyID", func(sb *store.Sandbox) { sb.ID = "" }},
			{"EmptyTemplate", func(sb *store.Sandbox) { sb.TemplateID = "" }},
			{"EmptyState", func(sb *store.Sandbox) { sb.State = "" }},
			{"UnknownState", func(sb *store.Sandbox) { sb.State = "zombie" }},
			{"StateCase", func(sb *store.Sandbox) { sb.State = "Running" }},
			{"Ended", func(sb *store.Sandbox) { sb.State = store.StateEnded }},
			{"EndReason", func(sb *store.Sandbox) { sb.EndReason = store.ReasonKilled }},
			{"EndMessage", func(sb *store.Sandbox) { sb.EndMessage = "dead on arrival" }},
			{"EndedAt", func(sb *store.Sandbox) { sb.EndedAt = &ended }},
			{"NegativeCPU", func(sb *store.Sandbox) { sb.CPUCount = -1 }},
			{"NegativeMemory", func(sb *store.Sandbox) { sb.MemoryMB = -1 }},
			{"NegativeDisk", func(sb *store.Sandbox) { sb.DiskMB = -1 }},
			{"EmptyMetadataKey", func(sb *store.Sandbox) { sb.Metadata = map[string]string{"": "v"} }},
			// Valid JSON ("\u0000") that PostgreSQL's text cannot hold:
			// refused on every backend alike, never a server error.
			{"NULInMetadataValue", func(sb *store.Sandbox) { sb.Metadata = map[string]string{"k": "a\x00b"} }},
			{"NULInMetadataKey", func(sb *store.Sandbox) { sb.Metadata = map[string]string{"k\x00": "v"} }},
			{"InvalidUTF8InMetadata", func(sb *store.Sandbox) { sb.Metadata = map[string]string{"k": "\xff\xfe"} }},
			{"NULInAlias", func(sb *store.Sandbox) { sb.Alias = "py\x00" }},
			{"NULInTemplateID", func(sb *store.Sandbox) { sb.TemplateID = "base\x00" }},
			{"NULInNetworkRule", func(sb *store.Sandbox) { sb.Network.MaskRequestHost = "host\x00" }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				sb := sandbox("invalid-" + tc.name)
				tc.change(&sb)
				wantErr(t, st.CreateSandbox(ctx, sb), errdefs.ErrInvalidArgument, "create")
				if sb.ID != "" {
					if _, err := st.GetSandbox(ctx, sb.ID); !errdefs.IsNotFound(err) {
						t.Errorf("get after refused create: %v, want not found", err)
					}
				}
			})
		}
	})

	t.Run("Reads", func(t *testing.T) {
		_, err := st.GetSandbox(ctx, "")
		wantErr(t, err, errdefs.ErrInvalidArgument, "get with empty id")
		_, err = st.GetSandbox(ctx, "target\x00")
		wantErr(t, err, errdefs.ErrInvalidArgument, "get with a NUL in the id")
		_, err = st.ListEvents(ctx, "")
		wantErr(t, err, errdefs.ErrInvalidArgument, "events with empty id")
		for _, f := range []store.SandboxFilter{
			{States: []store.SandboxState{"zombie"}},
			{States: []store.SandboxState{store.StateRunning, ""}},
			{Metadata: map[string]string{"": "x"}},
			{Metadata: map[string]string{"k": "x\x00"}},
			{TemplateID: "\xff"},
		} {
			_, err := st.ListSandboxes(ctx, f)
			wantErr(t, err, errdefs.ErrInvalidArgument, "list with a bad filter")
		}
	})

	// The changes below are all refused; the sandbox they aim at must come
	// out of them as it went in.
	sb := sandbox("target")
	mustCreate(t, st, sb)
	started := store.Event{Type: store.EventStarted}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"SetStateEmptyID", func() error { return st.SetState(ctx, "", fromStarting, store.StateRunning, started) }},
		{"SetStateNoFrom", func() error { return st.SetState(ctx, sb.ID, nil, store.StateRunning, started) }},
		{"SetStateUnknownFrom", func() error {
			return st.SetState(ctx, sb.ID, []store.SandboxState{store.StateStarting, "zombie"}, store.StateRunning, started)
		}},
		{"SetStateFromEnded", func() error {
			return st.SetState(ctx, sb.ID, []store.SandboxState{store.StateStarting, store.StateEnded}, store.StateRunning, started)
		}},
		{"SetStateUnknownTo", func() error { return st.SetState(ctx, sb.ID, fromStarting, "zombie", started) }},
		{"SetStateEmptyTo", func() error { return st.SetState(ctx, sb.ID, fromStarting, "", started) }},
		{"SetStateToEnded", func() error {
			return st.SetState(ctx, sb.ID, fromStarting, store.StateEnded, store.Event{Type: store.EventEnded})
		}},
		{"SetStateEventWithoutType", func() error {
			return st.SetState(ctx, sb.ID, fromStarting, store.StateRunning, store.Event{Message: "no type"})
		}},
		{"SetStateEventOfOtherSandbox", func() error {
			return st.SetState(ctx, sb.ID, fromStarting, store.StateRunning, store.Event{Type: store.EventStarted, SandboxID: "other"})
		}},
		{"EndEmptyID", func() error { return st.EndSandbox(ctx, "", store.ReasonKilled, "", t0) }},
		{"EndEmptyReason", func() error { return st.EndSandbox(ctx, sb.ID, "", "", t0) }},
		{"EndUnknownReason", func() error { return st.EndSandbox(ctx, sb.ID, "bored", "", t0) }},
		{"SetEndAtEmptyID", func() error { return st.SetEndAt(ctx, "", t0) }},
		{"SetEndAtZero", func() error { return st.SetEndAt(ctx, sb.ID, time.Time{}) }},
		{"SetStateEventTypeNUL", func() error {
			return st.SetState(ctx, sb.ID, fromStarting, store.StateRunning, store.Event{Type: "started\x00"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.call(), errdefs.ErrInvalidArgument, tc.name)
		})
	}
	if diff := cmp.Diff(sb, mustGet(t, st, sb.ID)); diff != "" {
		t.Errorf("refused changes changed the sandbox (-want +got):\n%s", diff)
	}
	if got := eventTypes(mustEvents(t, st, sb.ID)); !cmp.Equal(got, []string{store.EventCreated}) {
		t.Errorf("refused changes recorded events: %v", got)
	}
}

func (s *suite) testCanceled(t *testing.T) {
	st := s.open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sb := sandbox("canceled")
	if err := st.CreateSandbox(ctx, sb); err == nil {
		t.Error("create with a canceled context succeeded")
	}
	if _, err := st.GetSandbox(context.Background(), sb.ID); !errdefs.IsNotFound(err) {
		t.Errorf("get after create with a canceled context: %v, want not found", err)
	}
	mustCreate(t, st, sb)
	if err := st.SetState(ctx, sb.ID, fromStarting, store.StateRunning, store.Event{Type: store.EventStarted}); err == nil {
		t.Error("set state with a canceled context succeeded")
	}
	if got := mustGet(t, st, sb.ID).State; got != store.StateStarting {
		t.Errorf("state after set state with a canceled context: %s, want starting", got)
	}
	if _, err := st.GetSandbox(ctx, sb.ID); err == nil {
		t.Error("get with a canceled context succeeded")
	}
}
