package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
)

// oneMoreTemplate knows one template besides the base one, "custom".
type oneMoreTemplate struct{ base lifecycle.Templates }

func (o oneMoreTemplate) Resolve(name string) (string, error) {
	if name == "custom" {
		return "custom", nil
	}
	return o.base.Resolve(name)
}

// TestPlacementKeepsLocalTemplatesHome: a joined node has the base
// template only, so a create of any other template asks the placer for
// the embedded node; the base template may go anywhere.
func TestPlacementKeepsLocalTemplatesHome(t *testing.T) {
	e := newEnv(t, 0)
	m := lifecycle.New(lifecycle.Config{Store: e.st, Driver: e.driver, Templates: oneMoreTemplate{base: ocitest.Templates(t)}, CheckpointDir: t.TempDir()})
	var asked []lifecycle.CreateRequest
	m.UsePlacer(func(_ context.Context, req lifecycle.CreateRequest) (string, error) {
		asked = append(asked, req)
		return "", fmt.Errorf("placement recorded: %w", errdefs.ErrUnavailable)
	})
	for _, tpl := range []string{"base", "code-interpreter-v1", "custom"} {
		if _, err := m.Create(context.Background(), lifecycle.CreateRequest{TemplateID: tpl, Team: "t1"}); !errors.Is(err, errdefs.ErrUnavailable) {
			t.Fatalf("create of %s: %v, want the placer's refusal", tpl, err)
		}
	}
	if len(asked) != 3 || asked[0].EmbeddedOnly || asked[1].EmbeddedOnly || !asked[2].EmbeddedOnly {
		t.Errorf("embedded only, base / its alias / custom: %v %v %v, want false false true",
			asked[0].EmbeddedOnly, asked[1].EmbeddedOnly, asked[2].EmbeddedOnly)
	}
}
