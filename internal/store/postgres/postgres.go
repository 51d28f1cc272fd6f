// Package postgres is the store.Store backend for control planes that share
// their state: one PostgreSQL database, through pgx's connection pool.
//
// It mirrors the SQLite backend table for table and file for file, with the
// same migration numbers, so a schema version means the same on both and a
// new Store method is the same SQL in both packages with PostgreSQL's $n
// placeholders. Where SQLite serializes writers through one connection,
// PostgreSQL has row locks: a compare-and-set reads the row it changes
// with SELECT ... FOR UPDATE in READ COMMITTED, so two writers of one
// sandbox take turns and writers of different sandboxes do not wait for
// each other. Texts are ordered bytewise, as SQLite orders them, whatever
// the database's collation: every ORDER BY of a text says COLLATE "C".
// Every commit is durable (synchronous_commit as the server
// sets it, on by default) before a method returns.
package postgres

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store in one PostgreSQL database. Create it with Open.
type Store struct {
	pool        *pgxpool.Pool
	now         func() time.Time
	leaseTiming leaseTiming
	steps       *stepLeases // see StepLeases
}

// IsURL reports whether s names a PostgreSQL database (a postgres:// or
// postgresql:// URL) rather than a SQLite file.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database at connURL (postgres://user:pass@host/db?...,
// any parameter libpq takes) and brings its schema up to date; an empty
// database is migrated from scratch. A database whose schema is newer than
// this binary's is refused with ErrFailedPrecondition, a URL that does not
// parse with ErrInvalidArgument, and a server that cannot be reached with
// ErrUnavailable.
func Open(ctx context.Context, connURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(connURL)
	if err != nil {
		// pgx's message quotes the URL, password included: say only what
		// is wrong.
		return nil, fmt.Errorf("open store: invalid PostgreSQL URL %s: %w", redact(connURL), errdefs.ErrInvalidArgument)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", redact(connURL), err)
	}
	s := &Store{pool: pool, now: time.Now, leaseTiming: defaultLeaseTiming}
	s.steps = &stepLeases{s: s, held: map[string]*stepLease{}}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store %s: %w: %w", redact(connURL), err, errdefs.ErrUnavailable)
	}
	if err := migrate(ctx, pool, s.now); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store %s: %w", redact(connURL), err)
	}
	return s, nil
}

// Redact is connURL fit for errors and logs: every password in it (the
// user info's, and query parameters such as password= or sslpassword=)
// replaced by xxxxx. Anything that does not parse as a URL with a scheme,
// such as a keyword/value connection string, is not shown at all.
func Redact(connURL string) string {
	const hidden = "(not shown: not a URL, and it may hold a password)"
	u, err := url.Parse(connURL)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return hidden
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return hidden
	}
	changed := false
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q[k] = []string{"xxxxx"}
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func redact(connURL string) string { return Redact(connURL) }

// Close closes the pool, waiting for connections in use to be returned.
// Calls after Close fail.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}
