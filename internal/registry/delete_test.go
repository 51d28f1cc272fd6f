package registry_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodeagent"
	"github.com/soulbox/soulbox/internal/store"
)

// TestDeleteNode: an admin deletes a joined node; its certificate no
// longer heartbeats and the node exits saying what to do, not retrying;
// the name joins again with a new token. The embedded node, a node that
// reports sandboxes, an unknown node and a bad name are refused, and
// nothing changes.
func TestDeleteNode(t *testing.T) {
	e := newEnvEmbedded(t, "local")
	ctx := context.Background()
	dir := t.TempDir()
	if err := e.join(t, dir, "node-d", e.token(t)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   string
		want func(error) bool
	}{
		{"local", errdefs.IsFailedPrecondition},
		{"nope", errdefs.IsNotFound},
		{"Bad_Name", errdefs.IsInvalidArgument},
	} {
		if err := e.reg.Delete(ctx, c.id); !c.want(err) {
			t.Errorf("delete %s: %v", c.id, err)
		}
	}
	busy := store.NodeReport{CPUCount: 2, MemoryTotalBytes: 1 << 30, Sandboxes: 3}
	if _, err := e.st.RecordNodeHeartbeat(ctx, "node-d", busy, false, e.clock.now()); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Delete(ctx, "node-d"); !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "3 sandboxes") {
		t.Errorf("delete a node with sandboxes: %v", err)
	}
	if _, err := e.st.GetNode(ctx, "local"); err != nil {
		t.Errorf("the embedded node after a refused delete: %v", err)
	}
	if _, err := e.st.RecordNodeHeartbeat(ctx, "node-d", store.NodeReport{CPUCount: 2, MemoryTotalBytes: 1 << 30}, true, e.clock.now()); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Delete(ctx, "node-d"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.GetNode(ctx, "node-d"); !errdefs.IsNotFound(err) {
		t.Errorf("a deleted node: %v", err)
	}

	// The deleted node's next start ends at once, saying why and what to do.
	runCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err := nodeagent.Run(runCtx, nodeagent.Config{DataDir: dir})
	if err == nil || runCtx.Err() != nil || !strings.Contains(err.Error(), "refuses this node") || !strings.Contains(err.Error(), "join again") {
		t.Errorf("a deleted node's start: %v", err)
	}

	// Its name joins again, with a new token and a new identity.
	if err := os.RemoveAll(filepath.Join(dir, "node")); err != nil {
		t.Fatal(err)
	}
	if err := e.join(t, dir, "node-d", e.token(t)); err != nil {
		t.Fatalf("rejoin after delete: %v", err)
	}
	if n, err := e.st.GetNode(ctx, "node-d"); err != nil || n.CertFingerprint == "" {
		t.Errorf("the rejoined node: %+v, %v", n, err)
	}
}

// TestNodeRefusedByTLS: a node whose control plane no longer trusts it,
// or that no longer trusts its control plane (a new node CA), stops at
// once with the way out rather than retrying forever.
func TestNodeRefusedByTLS(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	if err := e.join(t, dir, "node-t", e.token(t)); err != nil {
		t.Fatal(err)
	}
	other := newEnv(t) // another control plane: another node CA
	state := filepath.Join(dir, "node", "node.json")
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, []byte(strings.Replace(string(b), e.url, other.url, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = nodeagent.Run(ctx, nodeagent.Config{DataDir: dir})
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "refuses this node") {
		t.Errorf("a node facing another CA: %v", err)
	}
}
