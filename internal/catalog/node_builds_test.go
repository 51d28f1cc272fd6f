package catalog_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// nodeBuilder stands for a joined node that builds (nodebuild.Builder):
// it keeps the requests it got and answers each with the next result.
type nodeBuilder struct {
	got     []builder.Request
	results []builder.Result
}

func (b *nodeBuilder) Build(_ context.Context, req builder.Request, log builder.Log) (builder.Result, error) {
	b.got = append(b.got, req)
	log("info", "1", "built elsewhere")
	res := b.results[0]
	b.results = b.results[1:]
	return res, nil
}

// TestBuildsOnNodesRecorded: with builds on joined nodes, the catalog
// names a build's base as a node resolves it (the base template by
// name, another template by its layers' digests and archives) and
// records the node's answer as a build of its own: layers by digest and
// base place, the archives in its layer store's records, which
// NodeLayers then names to other nodes, and the node's size. A layer
// recorded already keeps its archive when a later build reports another.
func TestBuildsOnNodesRecorded(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ls, err := layer.New(filepath.Join(dir, "layers"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := objstore.Open(ctx, s3test.Start(t, "soulbox").Config("soulbox"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ls.UseBlobRecords(ctx, catalog.BlobRecords{Store: st}); err != nil {
		t.Fatal(err)
	}
	ls.SetRemote(objstore.Layers{Store: obj, TmpDir: ls.Dir(), Log: slog.New(slog.DiscardHandler)})
	const (
		d1   = "key-1111111111111111111111111111111111111111111111111111111111111111"
		d2   = "key-2222222222222222222222222222222222222222222222222222222222222222"
		base = "base/0123456789ab/rootfs"
	)
	blob := func(c byte, n int64) layer.Blob {
		return layer.Blob{Digest: "sha256:" + string(slices.Repeat([]byte{c}, 64)), Size: n}
	}
	nb := &nodeBuilder{results: []builder.Result{
		{Layers: []string{d1, base}, Blobs: map[string]layer.Blob{d1: blob('a', 10)}, Size: 42,
			Settings: builder.Settings{User: "user", Env: map[string]string{"A": "1"}}},
		{Layers: []string{d2, d1, base}, Blobs: map[string]layer.Blob{d2: blob('c', 30), d1: blob('b', 20)}, Size: 50,
			Settings: builder.Settings{User: "user"}},
	}}
	c, err := catalog.New(ctx, catalog.Config{Store: st, Base: panicBase{t}, Builder: nb, Dir: filepath.Join(dir, "files"),
		Layers: ls, BuildsOnNodes: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	build := func(name, from string) store.TemplateBuild {
		t.Helper()
		tpl, b, _, err := c.RequestBuild(ctx, catalog.BuildRequest{Team: "team-a", Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.StartBuild(ctx, "team-a", tpl.ID, b.ID, catalog.BuildSpec{FromTemplate: from,
			Steps: []builder.Step{{Type: "RUN", Args: []string{"true"}}}}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, err := st.GetBuild(ctx, tpl.ID, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status == store.BuildReady || got.Status == store.BuildError {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("build of %s still %s", name, got.Status)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	app := build("app", "base")
	if len(nb.got) != 1 || !nb.got[0].Base.Default || nb.got[0].Base.Layers != nil || nb.got[0].Base.NodeLayers != nil {
		t.Fatalf("the node was asked %+v, want the base template by name", nb.got)
	}
	if app.Status != store.BuildReady || !slices.Equal(app.Layers, []string{d1, base}) || app.SizeBytes != 42 || app.Env["A"] != "1" {
		t.Fatalf("build recorded as %+v, want ready with the node's layers, size and settings", app)
	}
	if got, ok, _ := ls.Blob(ctx, d1); !ok || got != blob('a', 10) {
		t.Errorf("layer %s recorded as %+v, %v; want the node's archive", d1, got, ok)
	}
	want := []runtime.TemplateLayer{{Digest: d1, Blob: blob('a', 10).Digest, Size: 10}, {Base: base}}
	if got, err := c.NodeLayers(ctx, "app"); err != nil || !slices.Equal(got, want) {
		t.Errorf("NodeLayers = %+v, %v; want %+v", got, err, want)
	}

	next := build("next", "app")
	if len(nb.got) != 2 || nb.got[1].Base.Default || !slices.Equal(nb.got[1].Base.NodeLayers, want) || nb.got[1].Base.Settings.Env["A"] != "1" {
		t.Fatalf("the node was asked %+v, want app's layers as a node resolves them, with its settings", nb.got[1].Base)
	}
	if next.Status != store.BuildReady || !slices.Equal(next.Layers, []string{d2, d1, base}) {
		t.Fatalf("second build recorded as %+v", next)
	}
	if got, _, _ := ls.Blob(ctx, d1); got != blob('a', 10) {
		t.Errorf("layer %s now recorded as %+v: a node's answer replaced the archive other builds stack on", d1, got)
	}
	if got, ok, _ := ls.Blob(ctx, d2); !ok || got != blob('c', 30) {
		t.Errorf("layer %s recorded as %+v, %v", d2, got, ok)
	}

	// Another control plane on the same store (a replica), which ran
	// neither build, names the layers with the archives the first
	// recorded: the records are the store's.
	other, err := layer.New(filepath.Join(dir, "replica-layers"))
	if err != nil {
		t.Fatal(err)
	}
	if err := other.UseBlobRecords(ctx, catalog.BlobRecords{Store: st}); err != nil {
		t.Fatal(err)
	}
	other.SetRemote(objstore.Layers{Store: obj, TmpDir: other.Dir(), Log: slog.New(slog.DiscardHandler)})
	replica, err := catalog.New(ctx, catalog.Config{Store: st, Base: panicBase{t}, Builder: nb, Dir: filepath.Join(dir, "replica-files"),
		Layers: other, BuildsOnNodes: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(replica.Close)
	if got, err := replica.NodeLayers(ctx, "app"); err != nil || !slices.Equal(got, want) {
		t.Errorf("NodeLayers on another control plane = %+v, %v; want %+v", got, err, want)
	}
	wantNext := []runtime.TemplateLayer{{Digest: d2, Blob: blob('c', 30).Digest, Size: 30}, want[0], want[1]}
	if got, err := replica.NodeLayers(ctx, "next"); err != nil || !slices.Equal(got, wantNext) {
		t.Errorf("NodeLayers of the second build on another control plane = %+v, %v; want %+v", got, err, wantNext)
	}

	// A template whose layer no one recorded (a replica of an older
	// version ran its build): a precondition saying so, not a blob the
	// control plane cannot vouch for.
	if err := st.DeleteLayerBlob(ctx, d2); err != nil {
		t.Fatal(err)
	}
	if _, err := replica.NodeLayers(ctx, "next"); !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "no record of the archive") {
		t.Errorf("NodeLayers of a layer with no record = %v, want a precondition saying so", err)
	}
}

// panicBase is a base template store that must not be asked: a control
// plane that builds on nodes builds no base template itself.
type panicBase struct{ t *testing.T }

func (b panicBase) Layers(context.Context, string) ([]string, error) {
	b.t.Error("the base template's layers were asked on a control plane that builds on nodes")
	return nil, nil
}
