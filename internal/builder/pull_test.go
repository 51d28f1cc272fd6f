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

// TestPullReusesALayerOnlyWithProof installs a private image's layer, then
// pulls, from another registry, an image whose configuration lists that
// layer's diff id over a blob of its own: the diff id is no proof that
// the build may have the layer, so the blob is downloaded, found not to
// match, and refused. The owner's next pull reuses its layer without
// unpacking it; the same layer served by another repository is verified
// by a download first.
func TestPullReusesALayerOnlyWithProof(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	secret := imagetest.Layer(t, imagetest.Entry{Name: "opt/", Type: tar.TypeDir},
		imagetest.Entry{Name: "opt/secret.txt", Type: tar.TypeReg, Body: "team A's secret\n"})
	tiny := imagetest.TinyLayer(t, e.base[0])
	host := imagetest.ServeWithAuth(t, "alice", "s3cret")
	private := imagetest.PushWithAuth(t, host, "alice", "s3cret", "private/app:1", tiny, secret)
	reqA := e.request("team-a")
	reqA.Base = builder.Base{Image: private, Registry: &builder.Registry{Username: "alice", Password: "s3cret"}}
	a, err := e.b.Build(ctx, reqA, nolog)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, a.Layers, "opt/secret.txt"); got != "team A's secret\n" {
		t.Fatalf("team A's image: %q", got)
	}

	evil := imagetest.PushForged(t, e.registry, "evil/mount:1", imagetest.DiffID(secret),
		imagetest.Layer(t, imagetest.Entry{Name: "mine.txt", Type: tar.TypeReg, Body: "x"}))
	reqB := e.request("team-b")
	reqB.Base.Image = evil
	b, err := e.b.Build(ctx, reqB, nolog)
	if err == nil {
		for _, l := range b.Layers {
			if _, serr := os.Stat(l + "/opt/secret.txt"); serr == nil {
				t.Fatal("team B's build mounted team A's private layer by naming its diff id")
			}
		}
		t.Fatal("an image listing another image's diff id over its own blob was built")
	}
	var se *builder.StepError
	if !errors.As(err, &se) || se.Step != "base" || !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "claims diff id") {
		t.Fatalf("forged reuse: %v, want the base refused for its diff id", err)
	}

	var logs []string
	logTo := func(_, _, msg string) { logs = append(logs, msg) }
	if _, err := e.b.Build(ctx, reqA, logTo); err != nil {
		t.Fatal(err)
	}
	if joined := strings.Join(logs, "\n"); strings.Contains(joined, "unpacking layer") || strings.Contains(joined, "verifying layer") {
		t.Errorf("the owner's second pull fetched its layers again:\n%s", joined)
	}
	public := imagetest.Push(t, e.registry, "public/app:1", nil, tiny, secret)
	logs = nil
	reqC := e.request("team-c")
	reqC.Base.Image = public
	c, err := e.b.Build(ctx, reqC, logTo)
	if err != nil {
		t.Fatal(err)
	}
	if joined := strings.Join(logs, "\n"); !strings.Contains(joined, "verifying layer") || strings.Contains(joined, "unpacking layer") {
		t.Errorf("the same layers from another repository were not verified by a download:\n%s", joined)
	}
	if got := read(t, c.Layers, "opt/secret.txt"); got != "team A's secret\n" {
		t.Fatalf("the same layer from another repository: %q", got)
	}
}
