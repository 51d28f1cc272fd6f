package storetest_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/postgres"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
	"github.com/soulbox/soulbox/internal/store/sqlite"
	"github.com/soulbox/soulbox/internal/store/storetest"
)

// backends opens a new, empty store of each backend: TestStore/sqlite/...
// and TestStore/postgres/... run the same suite.
var backends = []struct {
	name  string
	setup func(t testing.TB) func(t testing.TB) store.Store
}{
	{"sqlite", func(testing.TB) func(t testing.TB) store.Store {
		return func(t testing.TB) store.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "soulbox.db"))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}},
	{"postgres", func(t testing.TB) func(t testing.TB) store.Store {
		c := pgtest.Start(t) // one cluster, a database per store
		return func(t testing.TB) store.Store {
			s, err := postgres.Open(context.Background(), c.NewDatabase(t))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}},
}

func TestStore(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			open := b.setup(t)
			storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
		})
	}
}
