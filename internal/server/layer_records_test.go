package server_test

import (
	"context"
	"testing"

	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/backend"
)

// withServerStore runs fn on the server's store (SQLite or PostgreSQL),
// opened apart from the server.
func withServerStore(t testing.TB, cfg server.Config, fn func(st store.Store)) {
	t.Helper()
	st, err := backend.Open(context.Background(), cfg.Store, cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fn(st)
}

// recordedBlob is the archive the server recorded uploading layer digest
// as (in its store, which every replica reads): what it names to nodes.
func recordedBlob(t *testing.T, cfg server.Config, digest string) objstore.Ref {
	t.Helper()
	var ref objstore.Ref
	withServerStore(t, cfg, func(st store.Store) {
		b, err := st.LayerBlob(context.Background(), digest)
		if err != nil {
			t.Fatal(err)
		}
		ref = objstore.Ref{Digest: b.Digest, Size: b.Size}
	})
	return ref
}

// storeLayers are the layer-store layers (by digest) of template id's
// builds, as the store records them.
func storeLayers(t *testing.T, cfg server.Config, id string) []string {
	t.Helper()
	var out []string
	withServerStore(t, cfg, func(st store.Store) {
		builds, err := st.ListBuilds(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range builds {
			for _, l := range b.Layers {
				if layer.ValidDigest(l) {
					out = append(out, l)
				}
			}
		}
	})
	return out
}
