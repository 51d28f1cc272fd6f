package catalog_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

type delEnv struct {
	c      *catalog.Catalog
	st     store.Store
	layers *layer.Store
}

func openWithLayers(t *testing.T) delEnv {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ls, err := layer.New(filepath.Join(dir, "layers"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := catalog.New(ctx, catalog.Config{Store: st, Base: baseLayers{}, Dir: filepath.Join(dir, "files"), Layers: ls})
	if err != nil {
		t.Fatal(err)
	}
	return delEnv{c, st, ls}
}

// built registers a ready template of team whose build has layers (paths
// as given).
func (e delEnv) built(t *testing.T, team, name string, layers ...string) store.Template {
	t.Helper()
	ctx := context.Background()
	tpl, b, _, err := e.c.RequestBuild(ctx, catalog.BuildRequest{Team: team, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.StartBuild(ctx, tpl.ID, b.ID, "{}", time.Time{}); err != nil {
		t.Fatal(err)
	}
	b.Status, b.Layers = store.BuildReady, layers
	if err := e.st.FinishBuild(ctx, b, []string{store.DefaultTag}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	return tpl
}

func (e delEnv) layer(t *testing.T, digest string) string {
	t.Helper()
	if err := e.layers.Install(digest, func(dir string) error { return os.WriteFile(filepath.Join(dir, "f"), []byte(digest), 0o644) }); err != nil {
		t.Fatal(err)
	}
	return e.layers.Path(digest)
}

func (e delEnv) sandbox(t *testing.T, id, team, template string) {
	t.Helper()
	if err := e.st.CreateSandbox(context.Background(), store.Sandbox{ID: id, TemplateID: template, ClientID: team, State: store.StateStarting}); err != nil {
		t.Fatal(err)
	}
}

const (
	digestShared = "sha256-1111111111111111111111111111111111111111111111111111111111111111"
	digestOwn    = "key-2222222222222222222222222222222222222222222222222222222222222222"
)

// A layer is in use by its id, however a build wrote its path down: a
// template whose build names a shared layer by another spelling of the
// same path keeps it when the other template goes.
func TestDeleteKeepsLayersByID(t *testing.T) {
	e := openWithLayers(t)
	shared, own := e.layer(t, digestShared), e.layer(t, digestOwn)
	e.built(t, "team-a", "first", own, shared)
	e.built(t, "team-a", "second", filepath.Dir(shared)+"/./"+filepath.Base(shared)+"/")
	if err := e.c.Delete(context.Background(), "team-a", "first"); err != nil {
		t.Fatal(err)
	}
	if !e.layers.Has(digestShared) {
		t.Error("a layer another template uses was freed")
	}
	if e.layers.Has(digestOwn) {
		t.Error("the deleted template's own layer was kept")
	}
}

// A create that holds the templates (from resolving its template until
// its sandbox is recorded) keeps a delete waiting, and the delete then
// sees the sandbox and refuses: the layers stay.
func TestDeleteWaitsForCreates(t *testing.T) {
	e := openWithLayers(t)
	e.built(t, "team-a", "app", e.layer(t, digestOwn))
	release := e.c.Hold("app")
	deleted := make(chan error, 1)
	go func() { deleted <- e.c.Delete(context.Background(), "team-a", "app") }()
	select {
	case err := <-deleted:
		t.Fatalf("delete ran while a create held the template: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	e.sandbox(t, "sbx-new", "team-a", "app")
	release()
	if err := <-deleted; !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "sbx-new") {
		t.Fatalf("delete after the create recorded its sandbox: %v, want refused naming it", err)
	}
	if !e.layers.Has(digestOwn) {
		t.Fatal("a refused delete freed the template's layer")
	}
	// And once deleted, a create finds no template.
	if err := e.st.EndSandbox(context.Background(), "sbx-new", store.ReasonKilled, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Delete(context.Background(), "team-a", "app"); err != nil {
		t.Fatal(err)
	}
	release = e.c.Hold("app")
	_, err := e.c.Resolve("app")
	release()
	if !errdefs.IsNotFound(err) {
		t.Fatalf("resolve after the delete: %v", err)
	}
}

// The refusal to delete a template in use names the caller's sandboxes
// and only counts other teams'.
func TestDeleteInUseNamesOnlyYourSandboxes(t *testing.T) {
	e := openWithLayers(t)
	e.built(t, "team-a", "shared-app", e.layer(t, digestOwn))
	if _, err := e.c.SetPublic(context.Background(), "team-a", "shared-app", true); err != nil {
		t.Fatal(err)
	}
	e.sandbox(t, "sbx-mine", "team-a", "shared-app")
	e.sandbox(t, "sbx-theirs", "team-b", "shared-app:default")
	err := e.c.Delete(context.Background(), "team-a", "shared-app")
	if !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("delete in use: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "sbx-mine") || strings.Contains(msg, "sbx-theirs") || !strings.Contains(msg, "1 of other teams") {
		t.Fatalf("refusal: %q, want the caller's sandbox named and the other team's counted", msg)
	}
}

// A delete of one template waiting for a slow create from it holds up
// neither creates nor deletes of other templates.
func TestDeleteHoldsOnlyItsTemplate(t *testing.T) {
	e := openWithLayers(t)
	e.built(t, "team-a", "slow", e.layer(t, digestOwn))
	e.built(t, "team-a", "other", e.layer(t, digestShared))
	e.built(t, "team-a", "third")
	releaseSlow := e.c.Hold("slow") // a create of "slow" in its agent's RPCs
	deleted := make(chan error, 1)
	go func() { deleted <- e.c.Delete(context.Background(), "team-a", "slow") }()
	select {
	case err := <-deleted:
		t.Fatalf("delete ran while a create held the template: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	held := make(chan func(), 1)
	go func() { held <- e.c.Hold("other") }()
	select {
	case release := <-held:
		release()
	case <-time.After(30 * time.Second):
		t.Fatal("a create of another template waited for the delete of \"slow\"")
	}
	otherDeleted := make(chan error, 1)
	go func() { otherDeleted <- e.c.Delete(context.Background(), "team-a", "third") }()
	select {
	case err := <-otherDeleted:
		if err != nil {
			t.Fatalf("deleting another template: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a delete of another template waited for the create of \"slow\"")
	}
	releaseSlow()
	if err := <-deleted; err != nil {
		t.Fatalf("delete once the create let go: %v", err)
	}
}
