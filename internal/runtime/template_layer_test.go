package runtime

import (
	"errors"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// TestSpecTemplateLayers: a spec naming its template's layers names each
// as a digest or a base layer, exactly one, within overlayfs's bound.
func TestSpecTemplateLayers(t *testing.T) {
	ok := Spec{ID: "sb1", Template: "app", Layers: []TemplateLayer{{Digest: "key-1", Tree: true}, {Base: "base/v/rootfs"}}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	for name, c := range map[string]struct {
		layers []TemplateLayer
		says   string
	}{
		"neither":         {[]TemplateLayer{{}}, "exactly one"},
		"both":            {[]TemplateLayer{{Digest: "key-1", Base: "base/v/rootfs"}}, "exactly one"},
		"a base as tree":  {[]TemplateLayer{{Base: "base/v/rootfs", Tree: true}}, "only a digest"},
		"too many layers": {make([]TemplateLayer, 501), "at most 500"},
	} {
		s := ok
		s.Layers = c.layers
		if err := s.Validate(); !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: Validate = %v; want invalid saying %q", name, err, c.says)
		}
	}
}
