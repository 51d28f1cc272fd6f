package server

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
)

// TestRunFailsWithoutHanging makes Run fail after the warm pool started
// (serving fails; the lifecycle fails to start) and checks that it
// returns the reason, with the caller's context still live, and leaves no
// pooled sandbox behind.
func TestRunFailsWithoutHanging(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server with a warm pool of real sandboxes")
	}
	for _, tc := range []struct {
		name    string
		breakIt func(s *Server)
	}{
		{"ServeFails", func(s *Server) { _ = s.listener.Close() }},
		{"LifecycleFails", func(s *Server) { _ = s.store.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Defaults()
			cfg.Listen = "127.0.0.1:0"
			cfg.DataDir = ocitest.Root(t)
			cfg.TemplatesDir = ocitest.TemplateCache()
			cfg.AgentPath = ocitest.AgentBinary(t)
			cfg.PoolMin, cfg.PoolMax = 1, 1
			ctx := context.Background()
			s, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			driver := s.driver
			tc.breakIt(s)
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("Run returned nil after failing to start")
				}
				t.Logf("Run: %v", err)
			case <-time.After(2 * time.Minute):
				t.Fatal("Run hangs after failing to start")
			}
			left, err := driver.List(ctx)
			if err != nil || len(left) != 0 {
				t.Errorf("after a failed Run the runtime has %+v (%v), want no pooled sandbox", left, err)
			}
		})
	}
}
