package api

import (
	"slices"
	"testing"

	"github.com/soulbox/soulbox/internal/store"
)

// TestE2BStates: a sandbox between running and paused is shown, and
// found by the state filter, in the state it was last acknowledged in,
// E2B's running or paused, never a state E2B's SDKs do not know.
func TestE2BStates(t *testing.T) {
	for s, want := range map[store.SandboxState]string{
		store.StateStarting: "running", store.StateRunning: "running", store.StatePausing: "running",
		store.StatePaused: "paused", store.StateResuming: "paused",
	} {
		if got := toListed(store.Sandbox{ID: "x", State: s}).State; got != want {
			t.Errorf("%s is shown as %q, want %q", s, got, want)
		}
		filter, err := parseStates(want)
		if err != nil || !slices.Contains(filter, s) {
			t.Errorf("state=%s selects %v (%v), want it to hold %s", want, filter, err, s)
		}
		if all, _ := parseStates(""); !slices.Contains(all, s) {
			t.Errorf("no state filter selects %v, want it to hold %s", all, s)
		}
	}
}
