package builder_test

import (
	"archive/tar"
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/builder/imagetest"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// TestPullRefusesForgedDiffID pulls an image whose configuration claims
// the diff id of another image's layer for its own files: the layer store
// is shared, so trusting the claim would give every later user of the
// other image these files.
func TestPullRefusesForgedDiffID(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	victim := imagetest.DiffID(imagetest.TinyLayer(t, e.base[0]))
	evil := imagetest.Layer(t, imagetest.Entry{Name: "etc/", Type: tar.TypeDir},
		imagetest.Entry{Name: "etc/passwd", Type: tar.TypeReg, Body: "root:x:0:0:planted:/root:/bin/sh\n"})
	forged := imagetest.PushForged(t, e.registry, "evil/forged:1", victim, evil)

	req := e.request("forged")
	req.Base.Image = forged
	_, err := e.b.Build(ctx, req, nolog)
	var se *builder.StepError
	if !errors.As(err, &se) || se.Step != "base" || !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "claims diff id") {
		t.Fatalf("forged image: %v, want the base refused for its diff id", err)
	}
	if e.layers.Has("sha256-" + victim.Hex) {
		t.Fatal("the forged layer was kept under the other image's diff id")
	}
	if left, _ := os.ReadDir(e.layers.Dir()); len(left) != 0 {
		t.Fatalf("a refused pull left %d entries in the layer store", len(left))
	}
	res, err := e.b.Build(ctx, e.request("genuine"), nolog)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, res.Layers, "etc/passwd"); strings.Contains(got, "planted") {
		t.Fatalf("the genuine image got the forged files: %q", got)
	}
}

// TestPullStopsAGzipBomb pulls an image whose layer is small compressed
// and larger than the node's limit unpacked: the unpack stops at the
// limit and leaves nothing.
func TestPullStopsAGzipBomb(t *testing.T) {
	e := setup(t)
	zeros := strings.Repeat("\x00", 4<<20)
	image := imagetest.Push(t, e.registry, "bomb/zeros:1", nil, imagetest.Layer(t, imagetest.Entry{Name: "zeros", Type: tar.TypeReg, Body: zeros}))
	small := builder.New(builder.Config{Layers: e.layers, Driver: e.driver, MaxLayerBytes: 1 << 20,
		AllowNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	req := e.request("bomb")
	req.Base.Image = image
	_, err := small.Build(context.Background(), req, nolog)
	var se *builder.StepError
	if !errors.As(err, &se) || se.Step != "base" || !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "more than 1048576 bytes") {
		t.Fatalf("oversized layer: %v, want the base refused for its size", err)
	}
	if left, _ := os.ReadDir(e.layers.Dir()); len(left) != 0 {
		t.Fatalf("a refused pull left %d entries in the layer store", len(left))
	}
}

// TestPullRefusesPrivateRegistries names registries on the host's own
// addresses, directly and by a name that resolves to one: refused unless
// the configuration allows the range, while a configured mirror there
// still serves Docker Hub names. What the registry said stays out of the
// error.
func TestPullRefusesPrivateRegistries(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	guarded := builder.New(builder.Config{Layers: e.layers, Driver: e.driver, Mirrors: []string{"http://" + e.registry}})
	_, port, _ := strings.Cut(e.registry, ":")
	for _, image := range []string{e.registry + "/library/tiny:1", "localhost:" + port + "/library/tiny:1", "[::1]:" + port + "/library/tiny:1"} {
		req := e.request("private")
		req.Base.Image = image
		_, err := guarded.Build(ctx, req, nolog)
		var se *builder.StepError
		if !errors.As(err, &se) || se.Step != "base" || !errdefs.IsInvalidArgument(err) ||
			!strings.Contains(err.Error(), "private or reserved address") || !strings.Contains(err.Error(), image) {
			t.Errorf("%s: %v, want a refused private registry", image, err)
		}
	}
	if _, err := guarded.Build(ctx, e.request("mirrored"), nolog); err != nil {
		t.Fatalf("a Docker Hub name through the configured mirror: %v", err)
	}
	req := e.request("missing")
	req.Base.Image = e.registry + "/nope/missing:1"
	_, err := e.b.Build(ctx, req, nolog)
	if err == nil || !strings.Contains(err.Error(), "no such image") || strings.Contains(err.Error(), "NAME_UNKNOWN") || strings.Contains(err.Error(), "MANIFEST_UNKNOWN") {
		t.Fatalf("missing image: %v, want a plain not-found naming no registry code", err)
	}
}
