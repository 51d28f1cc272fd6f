package registry_test

import (
	"context"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/node"
	"github.com/soulbox/soulbox/internal/registry"
)

// TestEmbeddedNameTaken: a node that joined under the name the server's
// own node uses is not taken for the embedded node: the registry does
// not start, saying why, and the joined node stays as it was.
func TestEmbeddedNameTaken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.join(t, t.TempDir(), "myhost", e.token(t)); err != nil {
		t.Fatal(err)
	}
	before, _ := e.st.GetNode(ctx, "myhost")
	_, err := registry.New(ctx, registry.Config{Store: e.st, CA: e.ca, Embedded: &node.Local{ID: "myhost"}})
	if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "a node joined under that name") {
		t.Errorf("an embedded node of a joined node's name: %v", err)
	}
	after, _ := e.st.GetNode(ctx, "myhost")
	if after.Embedded || after.CertFingerprint != before.CertFingerprint {
		t.Errorf("the joined node changed: %+v -> %+v", before, after)
	}
	// The embedded node's own row is taken again on the next start.
	if _, err := registry.New(ctx, registry.Config{Store: e.st, CA: e.ca, Embedded: &node.Local{ID: "other"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := registry.New(ctx, registry.Config{Store: e.st, CA: e.ca, Embedded: &node.Local{ID: "other"}}); err != nil {
		t.Errorf("a restart of the embedded node: %v", err)
	}
}
