package lifecycle_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/nodepool"
	"github.com/soulbox/soulbox/internal/pool"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// lostAnswer is a joined node whose runtime is this host's and whose
// warm pool is a real node pool over it, reached through a connection
// that loses the answer of the first claim: the node served it, the
// control plane hears only an error.
type lostAnswer struct {
	*oci.Driver
	pool *nodepool.Pool

	mu     sync.Mutex
	claims int
	served string // the first claim's sandbox
}

func (d *lostAnswer) ClaimOn(ctx context.Context, _ string, c runtime.Claim) (string, error) {
	id, err := d.pool.Claim(ctx, c)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.claims++
	if d.claims == 1 && err == nil {
		d.served = id
		return "", errors.New("node node-x: read: connection reset by peer")
	}
	return id, err
}

// TestNodeClaimAnswerLost: a create placed on a joined node whose claim
// was served but whose answer was lost asks the claim again with its
// key, gets the same sandbox, and records it, instead of making another
// sandbox cold and leaving the claimed one running on the node with no
// record.
func TestNodeClaimAnswerLost(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	templates := ocitest.Templates(t)
	real, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: templates})
	if err != nil {
		t.Fatal(err)
	}
	np := nodepool.New(pool.Config{Templates: []string{"base"}, Min: 1, Max: 1}, real, t.TempDir(), slog.New(slog.DiscardHandler))
	d := &lostAnswer{Driver: real, pool: np}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := lifecycle.New(lifecycle.Config{Store: st, Driver: d, Templates: templates, CheckpointDir: t.TempDir()})
	m.UsePlacer(func(context.Context, lifecycle.CreateRequest) (string, error) { return "node-x", nil })
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	poolDone := make(chan struct{})
	go func() { defer close(poolDone); np.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-poolDone
		m.Stop()
	})
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if s := np.Stats(); len(s) == 1 && s[0].Ready == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the node's pool never had a sandbox ready")
		}
	}

	sb, err := m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Kill(context.Background(), sb.ID, store.ReasonKilled, "") })
	d.mu.Lock()
	served := d.served
	d.mu.Unlock()
	if served == "" {
		t.Fatal("the create claimed nothing from the node's pool")
	}
	t.Cleanup(func() { _ = real.Destroy(context.Background(), served) })
	if sb.ID != served {
		t.Errorf("the create made %s; the node had served it %s, whose answer was lost", sb.ID, served)
		if _, err := real.Info(ctx, served); !errdefs.IsNotFound(err) {
			t.Errorf("and %s runs on the node with no record: %v", served, err)
		}
	}
	if got, err := st.GetSandbox(ctx, served); err != nil || got.State != store.StateRunning || got.Node != "node-x" {
		t.Errorf("the served sandbox is recorded %+v, %v; want running on node-x", got, err)
	}
}
