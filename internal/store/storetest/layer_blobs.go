package storetest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// testLayerBlobs: where a template layer is in object storage is
// recorded, kept as first recorded when recorded again (also by two
// writers at once), read back, removed, and refused when malformed.
func (s *suite) testLayerBlobs(t *testing.T) {
	ctx := context.Background()
	st := s.open(t)
	layer := "sha256-" + strings.Repeat("1", 64)
	if _, err := st.LayerBlob(ctx, layer); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("record before any push: %v, want not found", err)
	}
	first := store.LayerBlob{Layer: layer, Digest: "sha256:" + strings.Repeat("a", 64), Size: 1 << 33}
	if got, err := st.AddLayerBlob(ctx, first); err != nil || got != first {
		t.Fatalf("add: %+v, %v; want %+v", got, err, first)
	}
	if got, err := st.LayerBlob(ctx, layer); err != nil || got != first {
		t.Fatalf("record: %+v, %v; want %+v", got, err, first)
	}
	other := store.LayerBlob{Layer: layer, Digest: "sha256:" + strings.Repeat("b", 64), Size: 7}
	if got, err := st.AddLayerBlob(ctx, other); err != nil || got != first {
		t.Fatalf("second add: %+v, %v; want the first record %+v kept", got, err, first)
	}
	if got, _ := st.LayerBlob(ctx, layer); got != first {
		t.Fatalf("record after a second add: %+v, want %+v", got, first)
	}

	// Two replicas recording one layer at once agree on one archive.
	racing := "key-" + strings.Repeat("2", 32)
	var wg sync.WaitGroup
	kept := make([]store.LayerBlob, 2)
	errs := make([]error, 2)
	for i, c := range []byte{'c', 'd'} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kept[i], errs[i] = st.AddLayerBlob(ctx, store.LayerBlob{Layer: racing, Digest: "sha256:" + strings.Repeat(string(c), 64), Size: int64(i)})
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || kept[0] != kept[1] {
		t.Fatalf("racing adds: %+v %v, %+v %v; want one record kept by both", kept[0], errs[0], kept[1], errs[1])
	}

	if err := st.DeleteLayerBlob(ctx, layer); err != nil {
		t.Fatal(err)
	}
	if _, err := st.LayerBlob(ctx, layer); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("record after delete: %v, want not found", err)
	}
	if err := st.DeleteLayerBlob(ctx, layer); err != nil {
		t.Fatalf("deleting no record: %v", err)
	}
	if got, err := st.LayerBlob(ctx, racing); err != nil || got != kept[0] {
		t.Fatalf("other layer's record after a delete: %+v, %v; want %+v", got, err, kept[0])
	}
	empty := store.LayerBlob{Layer: "sha512-" + strings.Repeat("3", 32), Digest: first.Digest}
	if got, err := st.AddLayerBlob(ctx, empty); err != nil || got != empty {
		t.Fatalf("empty archive: %+v, %v; want %+v", got, err, empty)
	}

	for name, b := range map[string]store.LayerBlob{
		"no layer":       {Digest: first.Digest, Size: 1},
		"path as layer":  {Layer: "../" + layer, Digest: first.Digest, Size: 1},
		"no digest":      {Layer: layer, Size: 1},
		"short digest":   {Layer: layer, Digest: "sha256:abc", Size: 1},
		"uppercase hash": {Layer: layer, Digest: "sha256:" + strings.Repeat("A", 64), Size: 1},
		"negative size":  {Layer: layer, Digest: first.Digest, Size: -1},
	} {
		if _, err := st.AddLayerBlob(ctx, b); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: %v, want invalid argument", name, err)
		}
	}
	if _, err := st.LayerBlob(ctx, layer); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("refused records left one behind: %v", err)
	}
	if _, err := st.LayerBlob(ctx, "not a layer"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("read of a malformed layer: %v, want invalid argument", err)
	}
	if err := st.DeleteLayerBlob(ctx, "/etc"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("delete of a malformed layer: %v, want invalid argument", err)
	}
}
