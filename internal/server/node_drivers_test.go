package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/node"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/registry"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestRenewedKeyIsNotUnreachable: a call of a node's driver refused for
// a key other than the pinned one, after the node renewed its key (the
// store records the new one), drops the driver for one under the new key
// and does not count the node as unreachable; refused under the key of
// record, the node is unreachable.
func TestRenewedKeyIsNotUnreachable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ca, err := nodeca.Open(filepath.Join(dir, "node-ca"))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.New(ctx, registry.Config{Store: st, CA: ca, HeartbeatTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	const name, addr = "node-k", "127.0.0.1:1"
	oldKey, newKey := strings.Repeat("a", 64), strings.Repeat("b", 64)
	if err := st.EnsureNode(ctx, store.Node{ID: name, Status: store.NodeReady, CertFingerprint: strings.Repeat("c", 64), KeyFingerprint: oldKey, JoinedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordNodeHeartbeat(ctx, name, store.NodeReport{CPUCount: 1, MemoryTotalBytes: 1 << 30, ServiceAddress: addr}, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	n := &nodeDrivers{}
	// Never dialled here: the calls' failures are told to callFailed.
	n.use(reg, func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &tls.Certificate{}, nil }, ca.Pool())
	d, err := n.driver(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	// The node renews its key; the driver, made a moment ago, still pins
	// the old one.
	if err := st.SetNodeCertificate(ctx, name, strings.Repeat("c", 64), strings.Repeat("c", 64), strings.Repeat("d", 64), newKey); err != nil {
		t.Fatal(err)
	}
	refused := fmt.Errorf("node's key is not the pinned one: %w", errdefs.ErrPermissionDenied)
	n.callFailed(name, addr, oldKey, refused)
	if why := statusOf(t, reg, name); why != "" {
		t.Errorf("after a renewal the node is %q; want ready", why)
	}
	again, err := n.driver(ctx, name)
	if err != nil || again == d {
		t.Errorf("after a renewal the driver is the old one (%v)", err)
	}
	// Refused under the key of record: unreachable.
	n.callFailed(name, addr, newKey, refused)
	if why := statusOf(t, reg, name); !strings.Contains(why, "pinned") {
		t.Errorf("refused under its recorded key the node is %q; want unreachable saying why", why)
	}
}

// statusOf is "" for a ready node, else its status and reason.
func statusOf(t *testing.T, reg *registry.Registry, id string) string {
	t.Helper()
	ns, err := reg.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.ID == id {
			if n.Status == node.StatusReady {
				return ""
			}
			return string(n.Status) + ": " + n.StatusReason
		}
	}
	t.Fatalf("no node %s", id)
	return ""
}
