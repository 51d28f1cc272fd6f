package catalog_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// A server upgraded from when a layer store kept its blob records in its
// own directory moves them into the store when it starts: nothing is
// lost, a record the store has already stays, a move cut short is
// finished by the next start, and removing the layer removes the
// store's record.
func TestBlobRecordsMovedIntoStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blob := func(c string, n int64) layer.Blob {
		return layer.Blob{Digest: "sha256:" + strings.Repeat(c, 64), Size: n}
	}
	const (
		d1 = "sha256-1111111111111111111111111111111111111111111111111111111111111111"
		d2 = "key-2222222222222222222222222222222222222222222222222222222222222222"
	)

	// As an older server left them: records in the layer store's
	// directory, one of a layer another replica recorded in the store.
	old, err := layer.New(filepath.Join(dir, "layers"))
	if err != nil {
		t.Fatal(err)
	}
	if err := old.RecordBlob(ctx, d1, blob("a", 10)); err != nil {
		t.Fatal(err)
	}
	if err := old.RecordBlob(ctx, d2, blob("b", 20)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddLayerBlob(ctx, store.LayerBlob{Layer: d2, Digest: blob("c", 30).Digest, Size: 30}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "layers", ".blobs", ".new-123"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}

	for start := range 2 { // the second start finds nothing left to move
		ls, err := layer.New(filepath.Join(dir, "layers"))
		if err != nil {
			t.Fatal(err)
		}
		if err := ls.UseBlobRecords(ctx, catalog.BlobRecords{Store: st}); err != nil {
			t.Fatalf("start %d: %v", start, err)
		}
		if got, err := st.LayerBlob(ctx, d1); err != nil || got != (store.LayerBlob{Layer: d1, Digest: blob("a", 10).Digest, Size: 10}) {
			t.Errorf("start %d: store's record of %s = %+v, %v; want the one moved from the data directory", start, d1, got, err)
		}
		if got, ok, err := ls.Blob(ctx, d2); err != nil || !ok || got != blob("c", 30) {
			t.Errorf("start %d: record of %s = %+v, %v, %v; want the store's first record kept", start, d2, got, ok, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "layers", ".blobs")); !os.IsNotExist(err) {
			t.Errorf("start %d: the data directory's records are still there (%v)", start, err)
		}
		// Recorded from now on in the store, not the directory.
		if err := ls.RecordBlob(ctx, "sha512-3333333333333333", blob("d", 1)); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "layers", ".blobs")); !os.IsNotExist(err) {
			t.Errorf("start %d: a new record was written to the data directory (%v)", start, err)
		}
	}

	ls, err := layer.New(filepath.Join(dir, "layers"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ls.UseBlobRecords(ctx, catalog.BlobRecords{Store: st}); err != nil {
		t.Fatal(err)
	}
	if err := ls.Install(d1, func(string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := ls.Remove(ctx, d1); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := ls.Blob(ctx, d1); ok || err != nil {
		t.Errorf("record of a removed layer: %v, %v; want none", ok, err)
	}
}
