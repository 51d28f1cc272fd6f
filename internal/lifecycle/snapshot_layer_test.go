package lifecycle_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestSnapshotStoresFilesOnce: a snapshot with memory keeps the
// sandbox's files once, as its layer, and its checkpoint holds no second
// copy; a sandbox from it has the files and the processes. A snapshot
// made the way they were made before (the checkpoint holding a copy of
// the files, restored on the source's template) still restores.
func TestSnapshotStoresFilesOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	ctx := context.Background()
	base := ocitest.Templates(t)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Under a sandbox-traversable root, as the server's templates.
	layersRoot := ocitest.Root(t)
	ls, err := layer.New(filepath.Join(layersRoot, "layers"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New(ctx, catalog.Config{Store: st, Base: base, Layers: ls, Dir: filepath.Join(layersRoot, "files")})
	if err != nil {
		t.Fatal(err)
	}
	d, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: cat})
	if err != nil {
		t.Fatal(err)
	}
	m := lifecycle.New(lifecycle.Config{Store: st, Driver: d, Templates: cat, CheckpointDir: t.TempDir()})
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	run := func(id, script string) string {
		t.Helper()
		var out bytes.Buffer
		res, err := d.Exec(ctx, id, runtime.ExecRequest{Args: []string{"bash", "-c", script}, Stdout: &out, Stderr: &out})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("exec %q in %s: %d %v: %s", script, id, res.ExitCode, err, out.String())
		}
		return out.String()
	}
	src, err := m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t", Timeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Kill(ctx, src.ID, store.ReasonKilled, "test over")
	// 4 MiB of files and a process the snapshot's sandboxes must have.
	sum := run(src.ID, "head -c 4194304 /dev/urandom > /home/user/data.bin; (setsid sleep 600 >/dev/null 2>&1 < /dev/null & echo $! > /home/user/pid); sync; sha256sum /home/user/data.bin")
	check := func(what, id string) {
		t.Helper()
		if got := run(id, "sha256sum /home/user/data.bin"); got != sum {
			t.Errorf("%s: data.bin %q, want %q", what, got, sum)
		}
		if got := run(id, "cat /proc/$(cat /home/user/pid)/comm"); got != "sleep\n" {
			t.Errorf("%s: the source's process is %q, want sleep", what, got)
		}
	}

	snap, err := m.Snapshot(ctx, src.ID, "", true)
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Memory {
		t.Fatal("snapshot without memory")
	}
	dir, from, ok, err := cat.SnapshotCheckpoint(ctx, snap.ID)
	if err != nil || !ok {
		t.Fatalf("the snapshot's checkpoint: %v %v", ok, err)
	}
	if !strings.HasPrefix(from, snap.ID+"@") {
		t.Errorf("a restore of the snapshot stacks template %q, want its own layers (%q)", from, snap.ID)
	}
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && (e.Name() == "data.bin" || e.Name() == "upper") {
			t.Errorf("the checkpoint holds a copy of the files: %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	child, err := m.Create(ctx, lifecycle.CreateRequest{TemplateID: snap.ID, Team: "t", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Kill(ctx, child.ID, store.ReasonKilled, "test over")
	check("a sandbox from the snapshot", child.ID)

	// A snapshot as made before: the checkpoint copies the files and
	// the record names the source's template.
	rec, err := st.GetSandbox(ctx, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Pause(ctx, src.ID); err != nil {
		t.Fatal(err)
	}
	upper, hostUID, err := d.WritableLayer(ctx, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	old, err := cat.CreateSnapshot(ctx, rec, "", upper, hostUID, func(dir string) (bool, error) {
		if err := d.CheckpointClone(ctx, src.ID, dir); err != nil {
			return false, err
		}
		return true, lifecycle.WriteCloneTokens(dir, rec)
	})
	if rerr := d.Resume(ctx, src.ID); rerr != nil {
		t.Fatal(rerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	dir, from, ok, err = cat.SnapshotCheckpoint(ctx, old.ID)
	if err != nil || !ok || from != "base" {
		t.Fatalf("the earlier kind of snapshot: checkpoint %v, template %q, %v", ok, from, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "upper", "home", "user", "data.bin")); err != nil {
		t.Fatalf("the earlier kind of snapshot holds no copy of the files: %v", err)
	}
	oldChild, err := m.Create(ctx, lifecycle.CreateRequest{TemplateID: old.ID, Team: "t", Timeout: time.Minute})
	if err != nil {
		t.Fatalf("a sandbox from a snapshot made before the files were stored once: %v", err)
	}
	defer m.Kill(ctx, oldChild.ID, store.ReasonKilled, "test over")
	check("a sandbox from the earlier kind of snapshot", oldChild.ID)
}
