package lifecycle_test

import (
	"context"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// TestAutoResumeFromObjectStorage: a sandbox that asked for auto-resume,
// paused with its memory, whose checkpoint is only in object storage
// (this disk lost it), is resumed by a request through the proxy, with
// its processes' memory, rather than answered as paused.
func TestAutoResumeFromObjectStorage(t *testing.T) {
	e := newObjEnv(t)
	ctx := context.Background()
	id := e.countingWith(t, store.Lifecycle{AutoPause: true, AutoResume: true})
	e.pauseAway(t, id)

	target, err := e.m.AutoResume(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if target.Paused {
		t.Fatal("the proxy's request was answered as paused; want the sandbox resumed from its checkpoint in object storage")
	}
	if got := e.count(t, id, 10*time.Second); got != "2" {
		t.Fatalf("count after the auto-resume %q, want 2 (the memory restored)", got)
	}
}
