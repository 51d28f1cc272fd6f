package lifecycle_test

import (
	"context"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/tenancy"
)

// TestDeleteTeamAndCreates: a team with a live sandbox is not deleted;
// once deleted, a create of it (its request authenticated before) is
// refused and records nothing; a deletion that fails leaves the team
// usable. The race of the two across processes is the store's
// (storetest's Shared/DeleteRace).
func TestDeleteTeamAndCreates(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	if err := e.st.CreateTeam(ctx, store.Team{ID: "gone", Name: "gone"}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.CreateAPIKey(ctx, store.APIKey{ID: "key-gone", Name: "k", Prefix: "e2b_gone", Hash: "hash-gone", Team: "gone", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	del := func() error { return tenancy.DeleteTeam(ctx, e.st, "gone") }
	sb, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "gone"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.m.DeleteTeam("gone", del); !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("delete of a team with a live sandbox: %v, want failed precondition", err)
	}
	if err := e.m.Kill(ctx, sb.ID, store.ReasonKilled, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.m.DeleteTeam("gone", del); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "gone"}); !errdefs.IsNotFound(err) {
		t.Errorf("create of a deleted team: %v, want not found", err)
	}
	if sbs, _ := e.st.ListSandboxes(ctx, store.SandboxFilter{Team: "gone", States: store.LiveStates}); len(sbs) != 0 {
		t.Errorf("the deleted team has live sandboxes: %+v", sbs)
	}
	// A deletion that fails leaves the team usable.
	if err := e.m.DeleteTeam("kept", func() error { return errdefs.ErrFailedPrecondition }); err == nil {
		t.Fatal("a failed deletion reported success")
	}
	sb, err = e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "kept"})
	if err != nil {
		t.Fatalf("create of a team whose deletion failed: %v", err)
	}
	_ = e.m.Kill(ctx, sb.ID, store.ReasonKilled, "")
}
