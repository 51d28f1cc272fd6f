package lifecycle_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
	"github.com/soulbox/soulbox/internal/store"
)

// returns runs fn and fails the test if it has not returned within a
// minute: a call that waits on an object storage that never answers
// (minutes: its timeout here is an hour) hangs past it.
func returns(t *testing.T, what string, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatalf("%s waits on the object storage that never answers", what)
		return nil
	}
}

// TestObjectStorageHangs: an object storage that accepts connections and
// never answers holds up no pause, resume or kill. A pause is acknowledged
// with its checkpoint on disk (the upload goes on in the background); a
// resume meanwhile cancels the upload and restores from the disk; a kill
// destroys the sandbox at once, whether its checkpoint was uploaded
// before (the blob's deletion goes on in the background) or its upload is
// under way.
func TestObjectStorageHangs(t *testing.T) {
	var hanger *s3test.Hanger
	e := newObjEnvConfig(t, func(srv *s3test.Server) objstore.Config {
		hanger = s3test.StartHanger(t, srv)
		c := hanger.Config("soulbox")
		c.Timeout = time.Hour
		return c
	}, nil)
	ctx := context.Background()
	uploaded := e.counting(t)
	if err := e.m.Pause(ctx, uploaded, true); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if _, err := e.st.CheckpointObject(ctx, uploaded); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the checkpoint's upload was never recorded")
		}
	}
	resumed, killed := e.counting(t), e.counting(t)
	hanger.Hang()

	for _, id := range []string{resumed, killed} {
		if err := returns(t, "pause", func() error { return e.m.Pause(ctx, id, true) }); err != nil {
			t.Fatalf("pause with the object storage hung: %v", err)
		}
		if sb, err := e.st.GetSandbox(ctx, id); err != nil || sb.State != store.StatePaused {
			t.Fatalf("after the pause: %s, %v; want paused", sb.State, err)
		}
	}
	// The upload of killed's checkpoint has archived it and waits for
	// an answer: its archive is not in the checkpoint directory, whose
	// size the paused disk budget measures.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		here, _ := filepath.Glob(filepath.Join(e.cpDir, ".upload-*"))
		apart, _ := filepath.Glob(filepath.Join(e.cpDir+"-transfers", ".upload-*"))
		if len(here) > 0 {
			t.Fatalf("an upload's archive is in the checkpoint directory: %v", here)
		}
		if len(apart) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no upload's archive appeared")
		}
	}
	if err := returns(t, "resume", func() error { _, _, err := e.m.Connect(ctx, resumed, 0); return err }); err != nil {
		t.Fatalf("resume while the upload hangs: %v", err)
	}
	if got := e.count(t, resumed, 10*time.Second); got != "2" {
		t.Fatalf("count after the resume %q, want 2 (restored from the disk)", got)
	}
	if _, err := e.st.CheckpointObject(ctx, resumed); !errdefs.IsNotFound(err) {
		t.Errorf("a cancelled upload was recorded: %v", err)
	}

	for _, id := range []string{uploaded, killed} {
		if err := returns(t, "kill", func() error { return e.m.Kill(ctx, id, store.ReasonKilled, "test") }); err != nil {
			t.Fatalf("kill %s with the object storage hung: %v", id, err)
		}
		if _, err := e.driver.Info(ctx, id); !errdefs.IsNotFound(err) {
			t.Errorf("sandbox %s after the kill: %v; want it destroyed", id, err)
		}
		if _, err := os.Stat(filepath.Join(e.cpDir, id)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("sandbox %s's checkpoint after the kill: %v; want it removed", id, err)
		}
		if _, err := e.st.CheckpointObject(ctx, id); !errdefs.IsNotFound(err) {
			t.Errorf("sandbox %s's checkpoint is still recorded after the kill: %v", id, err)
		}
	}
}
