package catalog_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestNodeSnapshotBlobs: snapshots kept in object storage (a joined
// node's) are listed with memory and restored from the blob they
// record; a blob two snapshots name is counted once and deleted with
// the last of them only; a snapshot past the team's disk quota is
// refused and its blob deleted.
func TestNodeSnapshotBlobs(t *testing.T) {
	ctx := context.Background()
	s3 := s3test.Start(t, "soulbox")
	objects, err := objstore.Open(ctx, objstore.Config{Endpoint: s3.Endpoint, Bucket: "soulbox", AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
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
	c, err := catalog.New(ctx, catalog.Config{Store: st, Base: baseLayers{}, Dir: filepath.Join(dir, "files"), Layers: ls, Blobs: objects})
	if err != nil {
		t.Fatal(err)
	}
	upload := func(content string) runtime.PausedBlob {
		t.Helper()
		pack := filepath.Join(t.TempDir(), "pack")
		if err := os.MkdirAll(filepath.Join(pack, "images"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pack, "images", "pages.img"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		ref, _, err := objects.UploadDir(ctx, pack, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return runtime.PausedBlob{Digest: ref.Digest, Size: ref.Size}
	}
	inBucket := func(b runtime.PausedBlob) bool {
		_, err := os.Stat(s3.BlobPath("soulbox", b.Digest))
		return err == nil
	}
	blob := upload("memory")
	tokens := catalog.SnapshotTokens{Envd: "envd-token"}
	one, err := c.CreateNodeSnapshot(ctx, store.Sandbox{ID: "sbx1", TemplateID: "base", ClientID: "teamA", State: store.StateRunning}, "kept", catalog.NodePack{Blob: blob, Memory: true, Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	two, err := c.CreateNodeSnapshot(ctx, store.Sandbox{ID: "sbx2", TemplateID: "base", ClientID: "teamA", State: store.StateRunning}, "", catalog.NodePack{Blob: blob, Memory: true, Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	if !one.Memory || one.SizeBytes != blob.Size {
		t.Errorf("snapshot %+v, want memory and the blob's size %d", one, blob.Size)
	}
	want := catalog.NodePack{Blob: blob, Memory: true, Template: "base", Tokens: tokens}
	if got, ok, err := c.SnapshotPack(ctx, "kept"); err != nil || !ok || got != want {
		t.Errorf("SnapshotPack = %+v %v %v, want %+v", got, ok, err, want)
	}
	if _, ok, err := c.SnapshotPack(ctx, "base"); ok || err != nil {
		t.Errorf("SnapshotPack of a template = %v %v, want not one", ok, err)
	}
	list, err := c.ListSnapshots(ctx, "teamA", "sbx1")
	if err != nil || len(list) != 1 || list[0].ID != one.ID || !list[0].Memory {
		t.Errorf("ListSnapshots of sbx1 = %+v, %v", list, err)
	}
	if used, err := c.SnapshotDiskUsage(ctx); err != nil || used != blob.Size {
		t.Errorf("SnapshotDiskUsage = %d, %v; want the shared blob once, %d", used, err, blob.Size)
	}

	if err := c.Delete(ctx, "teamA", one.ID); err != nil {
		t.Fatal(err)
	}
	if !inBucket(blob) {
		t.Fatal("a blob another snapshot names was deleted")
	}
	if err := c.Delete(ctx, "teamA", two.ID); err != nil {
		t.Fatal(err)
	}
	if inBucket(blob) {
		t.Error("the blob of the last snapshot naming it is still in the bucket")
	}

	// Files only: listed without memory, no tokens kept.
	files := upload("files")
	fo, err := c.CreateNodeSnapshot(ctx, store.Sandbox{ID: "sbx4", TemplateID: "base", ClientID: "teamA", State: store.StatePaused}, "", catalog.NodePack{Blob: files, Tokens: tokens})
	if err != nil || fo.Memory {
		t.Errorf("files-only snapshot = %+v, %v; want one without memory", fo, err)
	}
	if got, ok, err := c.SnapshotPack(ctx, fo.ID); err != nil || !ok || got != (catalog.NodePack{Blob: files, Template: "base"}) {
		t.Errorf("SnapshotPack of a files-only snapshot = %+v %v %v", got, ok, err)
	}

	// Past the team's disk quota: refused, its blob deleted.
	if err := st.CreateTeam(ctx, store.Team{ID: "teamQ", Name: "q", Quota: store.Quota{DiskBytes: 1}}); err != nil {
		t.Fatal(err)
	}
	big := upload("more memory than the quota")
	_, err = c.CreateNodeSnapshot(ctx, store.Sandbox{ID: "sbx3", TemplateID: "base", ClientID: "teamQ", State: store.StateRunning}, "", catalog.NodePack{Blob: big})
	if !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Errorf("snapshot past the disk quota = %v, want resource exhausted", err)
	}
	if inBucket(big) {
		t.Error("the blob of a refused snapshot is still in the bucket")
	}
	if list, err := c.ListSnapshots(ctx, "teamQ", ""); err != nil || len(list) != 0 {
		t.Errorf("snapshots after a refusal: %+v, %v", list, err)
	}
}
