package lifecycle_test

import (
	"context"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/store"
)

// TestDeleteTeamHoldsCreatesOff: a create of a team that arrives while
// the team is being deleted waits for the deletion and is then refused,
// recording nothing; other teams' creates go on afterwards.
func TestDeleteTeamHoldsCreatesOff(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	inDelete, release := make(chan struct{}), make(chan struct{})
	deleted := make(chan error, 1)
	go func() {
		deleted <- e.m.DeleteTeam("gone", func() error {
			close(inDelete)
			<-release
			return nil
		})
	}()
	<-inDelete
	created := make(chan error, 1)
	go func() {
		_, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "gone"})
		created <- err
	}()
	select {
	case err := <-created:
		t.Fatalf("a create of the team being deleted did not wait: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-deleted; err != nil {
		t.Fatal(err)
	}
	if err := <-created; !errdefs.IsNotFound(err) {
		t.Errorf("create of a deleted team: %v, want not found", err)
	}
	if sbs, _ := e.st.ListSandboxes(ctx, store.SandboxFilter{Team: "gone"}); len(sbs) != 0 {
		t.Errorf("the deleted team has sandboxes: %+v", sbs)
	}
	// A deletion that fails leaves the team usable.
	if err := e.m.DeleteTeam("kept", func() error { return errdefs.ErrFailedPrecondition }); err == nil {
		t.Fatal("a failed deletion reported success")
	}
	sb, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "kept"})
	if err != nil {
		t.Fatalf("create of a team whose deletion failed: %v", err)
	}
	_ = e.m.Kill(ctx, sb.ID, store.ReasonKilled, "")
}
