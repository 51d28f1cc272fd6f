package nodeagent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
)

// TestResolveLayers: a node resolves a template's layers as the create
// names them: the base template's in its own cache, a layer it holds in
// its layer store; what it cannot resolve is refused saying why: a base
// layer of another recipe version, a malformed digest, a layer it lacks
// with no object storage to fetch it from or no archive named to fetch
// it as (a node trusts no record of the bucket's).
func TestResolveLayers(t *testing.T) {
	base := ocitest.Templates(t)
	baseLayers, err := base.Layers(t.Context(), "base")
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(base.Dir(), baseLayers[0])
	if err != nil {
		t.Fatal(err)
	}
	ls, err := layer.New(filepath.Join(t.TempDir(), "layers"))
	if err != nil {
		t.Fatal(err)
	}
	const held = "key-1111111111111111111111111111111111111111111111111111111111111111"
	const lacked = "key-2222222222222222222222222222222222222222222222222222222222222222"
	if err := ls.Install(held, func(dir string) error { return os.WriteFile(filepath.Join(dir, "f"), nil, 0o644) }); err != nil {
		t.Fatal(err)
	}
	nt := nodeTemplates{base: base, layers: ls}

	got, err := nt.ResolveLayers(t.Context(), []runtime.TemplateLayer{{Digest: held}, {Base: rel}})
	if err != nil || len(got) != 2 || got[0] != ls.Path(held) || got[1] != baseLayers[0] {
		t.Fatalf("ResolveLayers = %v, %v; want [%s %s]", got, err, ls.Path(held), baseLayers[0])
	}
	for _, c := range []struct {
		name   string
		layers []runtime.TemplateLayer
		want   error
		says   string
	}{
		{"another base version", []runtime.TemplateLayer{{Digest: held}, {Base: "base/000000000000/rootfs"}}, errdefs.ErrFailedPrecondition, "another soulbox version"},
		{"a path for a digest", []runtime.TemplateLayer{{Digest: "../../etc"}}, errdefs.ErrInvalidArgument, "not a layer digest"},
		{"a layer lacked, no archive named", []runtime.TemplateLayer{{Digest: lacked}, {Base: rel}}, errdefs.ErrFailedPrecondition, "named no archive"},
		{"a layer lacked, no object storage", []runtime.TemplateLayer{{Digest: lacked, Blob: "sha256:" + strings.Repeat("ab", 32), Size: 10}, {Base: rel}}, errdefs.ErrUnavailable, "no object storage is configured"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := nt.ResolveLayers(t.Context(), c.layers)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
				t.Errorf("ResolveLayers = %v; want %v saying %q", err, c.want, c.says)
			}
		})
	}
	if ls.Has(lacked) {
		t.Error("a layer that could not be fetched is in the store")
	}
}
