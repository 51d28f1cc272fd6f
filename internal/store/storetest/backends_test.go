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

// backend opens stores of one backend.
type backend struct {
	// open returns a new, empty store.
	open func(t testing.TB) store.Store
	// shared returns n handles on one new, empty database, as n
	// processes open it.
	shared func(t testing.TB, n int) []store.Store
	// apart: transactions of different teams' creates run side by side.
	apart bool
}

// backends opens a new, empty store of each backend: TestStore/sqlite/...
// and TestStore/postgres/... run the same suite.
var backends = []struct {
	name  string
	setup func(t testing.TB) backend
}{
	{"sqlite", func(testing.TB) backend {
		open := func(t testing.TB, path string) store.Store {
			s, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		return backend{
			open: func(t testing.TB) store.Store { return open(t, filepath.Join(t.TempDir(), "soulbox.db")) },
			shared: func(t testing.TB, n int) []store.Store {
				path := filepath.Join(t.TempDir(), "soulbox.db")
				out := make([]store.Store, n)
				for i := range out {
					out[i] = open(t, path)
				}
				return out
			},
		}
	}},
	{"postgres", func(t testing.TB) backend {
		c := pgtest.Start(t) // one cluster, a database per store
		open := func(t testing.TB, url string) store.Store {
			s, err := postgres.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		return backend{
			open: func(t testing.TB) store.Store { return open(t, c.NewDatabase(t)) },
			shared: func(t testing.TB, n int) []store.Store {
				url := c.NewDatabase(t)
				out := make([]store.Store, n)
				for i := range out {
					out[i] = open(t, url)
				}
				return out
			},
			apart: true,
		}
	}},
}

func TestStore(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			be := b.setup(t)
			storetest.Run(t, func(t *testing.T) store.Store { return be.open(t) })
			storetest.RunShared(t, storetest.Shared{
				Open:       func(t *testing.T, n int) []store.Store { return be.shared(t, n) },
				TeamsApart: be.apart,
			})
		})
	}
}
