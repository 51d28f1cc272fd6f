package server_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
	"github.com/soulbox/soulbox/internal/testutil"
)

// TestReplicasShareKeys: two replicas started at once on an empty keys
// dir make each key once: an access token made through one opens the
// API through the other, and both sign nodes with one CA (the join
// tokens they make pin the same fingerprint). A replica on a database a
// server with an embedded node runs on is refused, saying why.
func TestReplicasShareKeys(t *testing.T) {
	testutil.RequiresRoot(t)
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	keysDir := t.TempDir()
	adminKey, _, _ := auth.Generate()
	cfgs := []server.Config{replicaConfig(t, url, keysDir, adminKey), replicaConfig(t, url, keysDir, adminKey)}
	srvs := make([]*server.Server, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srvs[i], errs[i] = server.New(context.Background(), cfgs[i], discardLogger())
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	var clients []apiClient
	for _, s := range srvs {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
		clients = append(clients, apiClient{t: t, base: "http://" + s.Addr(), key: adminKey})
	}
	a, b := clients[0], clients[1]

	var tok tokenJSON
	a.want(201, "POST", "/access-tokens", map[string]any{"name": "cli", "ttlSeconds": 600}, &tok)
	if code, body := withBearer(t, b.base, tok.Token, "GET", "/v2/sandboxes", nil); code != 200 {
		t.Errorf("a token made through A, used through B = %d %s", code, body)
	}
	fingerprint := func(c apiClient) string {
		var nt nodeTokenJSON
		c.want(201, "POST", "/admin/node-tokens", map[string]any{"ttl": 60}, &nt)
		parts := strings.Split(nt.Token, ".")
		return parts[len(parts)-1]
	}
	if fa, fb := fingerprint(a), fingerprint(b); fa != fb {
		t.Errorf("the replicas' node CAs differ: %s and %s", fa, fb)
	}

	// A server with an embedded node holds the database: a replica is
	// refused beside it.
	other := pg.NewDatabase(t)
	embedded := testConfig(t)
	embedded.Store = other
	_, stop := serveInProcess(t, embedded)
	defer stop()
	if s, err := server.New(context.Background(), replicaConfig(t, other, t.TempDir(), adminKey), discardLogger()); err == nil {
		serveHealth(t, s)
		t.Fatal("a replica started beside a server with an embedded node")
	} else if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "a soulbox server with an embedded node is running on this database") {
		t.Errorf("a replica beside a server with an embedded node: %v, want failed precondition saying why", err)
	}
}
