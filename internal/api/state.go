package api

import "github.com/soulbox/soulbox/internal/store"

// E2B's SandboxState has two values, running and paused. A sandbox the
// store has in a step between them is shown in the state it was last
// acknowledged in: pausing is still running (the pause has not been
// answered; its processes run until the checkpoint is complete), resuming
// is still paused (the resume has not been answered), and starting is
// running, as E2B shows a sandbox whose create is under way.

// runningStates are the store states E2B's running stands for.
var runningStates = []store.SandboxState{store.StateStarting, store.StateRunning, store.StatePausing}

// pausedStates are the store states E2B's paused stands for.
var pausedStates = []store.SandboxState{store.StatePaused, store.StateResuming}

// e2bState is the E2B SandboxState shown for a sandbox in store state s.
func e2bState(s store.SandboxState) string {
	switch s {
	case store.StateStarting, store.StatePausing:
		return string(store.StateRunning)
	case store.StateResuming:
		return string(store.StatePaused)
	}
	return string(s)
}
