package notify_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/notify"
	"github.com/soulbox/soulbox/internal/store/sqlite"
	"github.com/soulbox/soulbox/internal/store/storetest"
)

func open(t *testing.T) store.Store {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestConformance: the wrapper is still a store.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return notify.Wrap(open(t)) })
}

// TestEveryEventAnnounced: each write that records an event closes the
// channel taken before it; a failed write and a read close nothing.
func TestEveryEventAnnounced(t *testing.T) {
	s := notify.Wrap(open(t))
	defer s.Close()
	ctx := context.Background()
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		case <-time.After(10 * time.Millisecond):
			return false
		}
	}
	sb := store.Sandbox{ID: "notify-1", TemplateID: "base", ClientID: "t", State: store.StateStarting}
	for _, w := range []struct {
		name  string
		write func() error
		event bool
	}{
		{"create", func() error { return s.CreateSandbox(ctx, sb) }, true},
		{"get", func() error { _, err := s.GetSandbox(ctx, sb.ID); return err }, false},
		{"start", func() error {
			return s.SetState(ctx, sb.ID, []store.SandboxState{store.StateStarting}, store.StateRunning, store.Event{Type: store.EventStarted})
		}, true},
		{"refused state change", func() error {
			_ = s.SetState(ctx, sb.ID, []store.SandboxState{store.StatePaused}, store.StateRunning, store.Event{Type: "resumed"})
			return nil
		}, false},
		{"timeout", func() error { return s.SetEndAt(ctx, sb.ID, time.Now().Add(time.Hour)) }, true},
		{"network", func() error { return s.SetNetwork(ctx, sb.ID, store.NetworkConfig{AllowInternetAccess: true}) }, true},
		{"end", func() error { return s.EndSandbox(ctx, sb.ID, store.ReasonKilled, "", time.Time{}) }, true},
		{"end again", func() error { _ = s.EndSandbox(ctx, sb.ID, store.ReasonKilled, "", time.Time{}); return nil }, false},
	} {
		ch := s.Changed()
		if err := w.write(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		if got := closed(ch); got != w.event {
			t.Errorf("%s: announced %v, want %v", w.name, got, w.event)
		}
	}
}
