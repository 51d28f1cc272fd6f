package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
)

// portableTemplates knows "custom", whose layers it names for any node,
// and "local", whose layers are on this host only.
type portableTemplates struct{ oneMoreTemplate }

func (p portableTemplates) Resolve(name string) (string, error) {
	if name == "local" {
		return "local", nil
	}
	return p.oneMoreTemplate.Resolve(name)
}

func (portableTemplates) NodeLayers(_ context.Context, ref string) ([]runtime.TemplateLayer, error) {
	if ref == "custom" {
		return []runtime.TemplateLayer{{Digest: "key-1"}, {Base: "base/v/rootfs"}}, nil
	}
	return nil, fmt.Errorf("template %q: on this host only: %w", ref, errdefs.ErrFailedPrecondition)
}

// TestPlacementNamesTemplateLayers: a template whose layers the resolver
// names for other nodes may go to any node, and the placer is told its
// layers (those it must hold or fetch); one whose layers are on this host
// only goes to the embedded node.
func TestPlacementNamesTemplateLayers(t *testing.T) {
	e := newEnv(t, 0)
	m := lifecycle.New(lifecycle.Config{Store: e.st, Driver: e.driver, Templates: portableTemplates{oneMoreTemplate{base: ocitest.Templates(t)}}, CheckpointDir: t.TempDir()})
	asked := map[string]lifecycle.CreateRequest{}
	m.UsePlacer(func(_ context.Context, req lifecycle.CreateRequest) (string, error) {
		asked[req.TemplateID] = req
		return "", fmt.Errorf("placement recorded: %w", errdefs.ErrUnavailable)
	})
	for _, tpl := range []string{"base", "custom", "local"} {
		if _, err := m.Create(context.Background(), lifecycle.CreateRequest{TemplateID: tpl, Team: "t1"}); !errors.Is(err, errdefs.ErrUnavailable) {
			t.Fatalf("create of %s: %v, want the placer's refusal", tpl, err)
		}
	}
	if r := asked["base"]; r.EmbeddedOnly || r.TemplateLayers != nil {
		t.Errorf("base: embedded only %v, layers %v; want anywhere, no layers", r.EmbeddedOnly, r.TemplateLayers)
	}
	if r := asked["custom"]; r.EmbeddedOnly || !slices.Equal(r.LayerDigests(), []string{"key-1"}) || len(r.TemplateLayers) != 2 {
		t.Errorf("custom: embedded only %v, layers %v; want anywhere with its two layers, key-1 to hold or fetch", r.EmbeddedOnly, r.TemplateLayers)
	}
	if r := asked["local"]; !r.EmbeddedOnly || r.TemplateLayers != nil {
		t.Errorf("local: embedded only %v, layers %v; want the embedded node", r.EmbeddedOnly, r.TemplateLayers)
	}
}
