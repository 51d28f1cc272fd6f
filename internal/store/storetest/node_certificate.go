package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// testNodeCertificate: the key fingerprint recorded at a join is read
// back; SetNodeCertificate replaces certificate and key fingerprints
// only while the certificate is the one the caller saw, never for the
// embedded node or an unknown one, and refuses missing arguments.
func (s *suite) testNodeCertificate(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()
	if err := st.CreateNodeToken(ctx, nodeToken("pin", at(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if err := st.JoinNode(ctx, "hash-pin", store.Node{ID: "pinned", Status: store.NodeReady, StatusBy: store.ByNode,
		CertFingerprint: "cert-1", KeyFingerprint: "key-1"}, at(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureNode(ctx, store.Node{ID: "local", Embedded: true, Status: store.NodeReady}); err != nil {
		t.Fatal(err)
	}
	want := func(cert, key string) {
		t.Helper()
		n, err := st.GetNode(ctx, "pinned")
		if err != nil || n.CertFingerprint != cert || n.KeyFingerprint != key {
			t.Fatalf("node = %+v, %v; want certificate %s, key %s", n, err, cert, key)
		}
		if cert == "cert-2" && n.PreviousCertFingerprint != "cert-1" {
			t.Errorf("previous certificate %q; want cert-1", n.PreviousCertFingerprint)
		}
		ns, err := st.ListNodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			if n.ID == "pinned" && (n.CertFingerprint != cert || n.KeyFingerprint != key) {
				t.Fatalf("listed node = %+v; want certificate %s, key %s", n, cert, key)
			}
		}
	}
	want("cert-1", "key-1")

	if err := st.SetNodeCertificate(ctx, "pinned", "cert-1", "cert-1", "cert-2", "key-2"); err != nil {
		t.Fatal(err)
	}
	want("cert-2", "key-2")
	// A second change from the certificate that is gone changes nothing.
	if err := st.SetNodeCertificate(ctx, "pinned", "cert-1", "cert-1", "cert-3", "key-3"); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("change from a replaced certificate = %v; want failed precondition", err)
	}
	want("cert-2", "key-2")
	if err := st.SetNodeCertificate(ctx, "nope", "cert-1", "", "cert-2", "key-2"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("change of an unknown node = %v; want not found", err)
	}
	if err := st.SetNodeCertificate(ctx, "local", "", "", "cert-2", "key-2"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("change with no current certificate = %v; want invalid argument", err)
	}
	if err := st.SetNodeCertificate(ctx, "local", "x", "", "cert-2", "key-2"); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("change of the embedded node = %v; want failed precondition", err)
	}
	for _, args := range [][4]string{{"", "cert-2", "c", "k"}, {"pinned", "cert-2", "", "k"}, {"pinned", "cert-2", "c", ""}, {"pinned", "cert-2", "c", "k\x00"}} {
		if err := st.SetNodeCertificate(ctx, args[0], args[1], "", args[2], args[3]); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("SetNodeCertificate%q = %v; want invalid argument", args, err)
		}
	}
	want("cert-2", "key-2")
	// A node recorded without a key reads back without one.
	if err := st.EnsureNode(ctx, store.Node{ID: "unpinned", Status: store.NodeReady}); err != nil {
		t.Fatal(err)
	}
	if n, err := st.GetNode(ctx, "unpinned"); err != nil || n.KeyFingerprint != "" {
		t.Errorf("node recorded without a key = %+v, %v", n, err)
	}
}
