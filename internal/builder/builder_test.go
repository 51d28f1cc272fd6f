package builder_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/builder/imagetest"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/template"
)

func TestMain(m *testing.M) { ocitest.Main(m) }

// resolver finds build sandboxes' stacks first, then the shared templates.
type resolver struct {
	stacks *builder.Stacks
	tpl    *template.Store
}

func (r resolver) Layers(ctx context.Context, name string) ([]string, error) {
	if l, ok := r.stacks.Layers(name); ok {
		return l, nil
	}
	return r.tpl.Layers(ctx, name)
}

type env struct {
	b        *builder.Node
	driver   *oci.Driver
	layers   *layer.Store
	registry string
	base     []string
	files    map[string][]byte
}

func setup(t testing.TB) *env {
	t.Helper()
	root := ocitest.Root(t)
	tpl := ocitest.Templates(t)
	base, err := tpl.Layers(context.Background(), "base")
	if err != nil {
		t.Fatal(err)
	}
	stacks := &builder.Stacks{}
	d, err := oci.New(oci.Config{Root: filepath.Join(root, "runtime"), AgentPath: ocitest.AgentBinary(t), Templates: resolver{stacks, tpl}})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := layer.New(filepath.Join(root, "layers"))
	if err != nil {
		t.Fatal(err)
	}
	host := imagetest.Serve(t)
	imagetest.Push(t, host, "library/tiny:1", []string{"PATH=/usr/bin:/bin", "FROM_IMAGE=yes"}, imagetest.TinyLayer(t, base[0]))
	return &env{
		b: builder.New(builder.Config{Layers: ls, Driver: d, Stacks: stacks, Mirrors: []string{"http://" + host},
			AllowNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}),
		driver:   d,
		layers:   ls,
		registry: host,
		base:     base,
		files:    map[string][]byte{},
	}
}

func (e *env) request(id string, steps ...builder.Step) builder.Request {
	return builder.Request{
		ID: id, Base: builder.Base{Image: "tiny:1"}, Steps: steps,
		Files: func(hash string) (io.ReadCloser, error) {
			b, ok := e.files[hash]
			if !ok {
				return nil, fmt.Errorf("files %s: %w", hash, errdefs.ErrNotFound)
			}
			return io.NopCloser(bytes.NewReader(b)), nil
		},
		Limits:  runtime.Limits{MemoryMB: 256, DiskMB: 256},
		Timeout: 2 * time.Minute,
	}
}

func gzTar(t testing.TB, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))})
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// read returns a file of the built template as a sandbox would see it.
func read(t *testing.T, layers []string, path string) string {
	t.Helper()
	for _, l := range layers {
		if b, err := os.ReadFile(filepath.Join(l, path)); err == nil {
			return string(b)
		}
	}
	t.Fatalf("%s not in the template", path)
	return ""
}

func nolog(string, string, string) {}

func TestBuildFromImageStepsAndCache(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.files["h1"] = gzTar(t, map[string]string{"hello.txt": "hello from the host\n"})
	steps := []builder.Step{
		{Type: "ENV", Args: []string{"GREETING", "hi there"}},
		{Type: "WORKDIR", Args: []string{"/app"}},
		{Type: "RUN", Args: []string{`echo "$GREETING $FROM_IMAGE" > out.txt; id -un > whoami.txt; pwd > pwd.txt`}},
		{Type: "RUN", Args: []string{"id -u > /root/uid.txt", "root"}},
		{Type: "COPY", Args: []string{"hello.txt", "/app/"}, FilesHash: "h1"},
		{Type: "USER", Args: []string{"root"}},
	}
	var logs []string
	res, err := e.b.Build(ctx, e.request("b1", steps...), func(level, step, msg string) { logs = append(logs, step+": "+msg) })
	if err != nil {
		t.Fatalf("build: %v\nlog:\n%s", err, strings.Join(logs, "\n"))
	}
	for path, want := range map[string]string{
		"app/out.txt":    "hi there yes\n",
		"app/whoami.txt": "user\n", // RUN runs as the template's user by default
		"app/pwd.txt":    "/app\n",
		"root/uid.txt":   "0\n",
		"app/hello.txt":  "hello from the host\n",
	} {
		if got := read(t, res.Layers, path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if res.Settings.User != "root" || res.Settings.Workdir != "/app" || res.Settings.Env["GREETING"] != "hi there" {
		t.Errorf("settings %+v", res.Settings)
	}
	if res.Cached != 0 {
		t.Errorf("first build reports %d cached steps", res.Cached)
	}

	again, err := e.b.Build(ctx, e.request("b2", steps...), nolog)
	if err != nil {
		t.Fatal(err)
	}
	if again.Cached != 4 { // WORKDIR, two RUNs, COPY
		t.Errorf("unchanged rebuild: %d steps cached, want 4", again.Cached)
	}
	if strings.Join(again.Layers, ",") != strings.Join(res.Layers, ",") {
		t.Errorf("cached rebuild has other layers:\n%v\n%v", again.Layers, res.Layers)
	}
	forced := e.request("b3", steps...)
	forced.Force = true
	f, err := e.b.Build(ctx, forced, nolog)
	if err != nil {
		t.Fatal(err)
	}
	if f.Cached != 0 || f.Layers[0] == res.Layers[0] {
		t.Errorf("forced build: %d cached, top layer %s (was %s)", f.Cached, f.Layers[0], res.Layers[0])
	}
	// A changed step rebuilds from there on.
	steps[3] = builder.Step{Type: "RUN", Args: []string{"id -u > /root/uid2.txt", "root"}}
	changed, err := e.b.Build(ctx, e.request("b4", steps...), nolog)
	if err != nil {
		t.Fatal(err)
	}
	if changed.Cached != 2 {
		t.Errorf("rebuild after changing step 4: %d cached, want 2", changed.Cached)
	}
}

func TestBuildFailures(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	imagetest.Push(t, e.registry, "bad/escape:1", nil, imagetest.Layer(t, imagetest.Entry{Name: "../../etc/evil", Type: tar.TypeReg, Body: "x"}))
	imagetest.Push(t, e.registry, "bad/device:1", nil, imagetest.Layer(t, imagetest.Entry{Name: "dev/kmem", Type: tar.TypeChar}))

	var logs []string
	req := e.request("f1", builder.Step{Type: "RUN", Args: []string{"echo first; echo second >&2; exit 3"}})
	_, err := e.b.Build(ctx, req, func(_, step, msg string) { logs = append(logs, step+": "+msg) })
	var se *builder.StepError
	if !errors.As(err, &se) || se.Step != "1" || se.ExitCode != 3 || !strings.Contains(strings.Join(se.Tail, "\n"), "second") {
		t.Fatalf("failing RUN: %#v (%v)", se, err)
	}
	if !strings.Contains(strings.Join(logs, "\n"), "1: first") {
		t.Errorf("step output not in the log: %q", logs)
	}

	for name, image := range map[string]string{
		"unknown image": e.registry + "/nope/missing:1",
		"dotdot layer":  e.registry + "/bad/escape:1",
		"device layer":  e.registry + "/bad/device:1",
	} {
		t.Run(name, func(t *testing.T) {
			req := e.request("f2")
			req.Base.Image = image
			_, err := e.b.Build(ctx, req, nolog)
			if !errors.As(err, &se) || se.Step != "base" || !errdefs.IsInvalidArgument(err) {
				t.Fatalf("build: %v, want an invalid base", err)
			}
			t.Log(err)
		})
	}
	t.Run("registry credentials", func(t *testing.T) {
		host := imagetest.ServeWithAuth(t, "alice", "s3cret")
		image := imagetest.PushWithAuth(t, host, "alice", "s3cret", "private/tiny:1", imagetest.TinyLayer(t, e.base[0]))
		req := e.request("f4")
		req.Base = builder.Base{Image: image, Registry: &builder.Registry{Username: "alice", Password: "wrong"}}
		_, err := e.b.Build(ctx, req, nolog)
		if !errors.As(err, &se) || se.Step != "base" || !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "refused the credentials") {
			t.Fatalf("wrong password: %v", err)
		}
		req.Base.Registry.Password = "s3cret"
		if _, err := e.b.Build(ctx, req, nolog); err != nil {
			t.Fatalf("right password: %v", err)
		}
	})
	if _, err := os.Stat("/etc/evil"); err == nil {
		t.Fatal("an image layer wrote /etc/evil on the host")
	}
	for _, bad := range []builder.Step{
		{Type: "USER", Args: []string{"nobody-here"}},
		{Type: "COPY", Args: []string{"x", "/x"}, FilesHash: "missing"},
		{Type: "HEALTHCHECK", Args: []string{"x"}},
	} {
		_, err := e.b.Build(ctx, e.request("f3", bad), nolog)
		if !errors.As(err, &se) || se.Step != "1" {
			t.Errorf("%s: %v, want step 1 to fail", bad.Type, err)
		}
	}
}

// BenchmarkBuild measures a build from a small registry image with one RUN
// step (cold: forced) and the same build fully cached.
func BenchmarkBuild(b *testing.B) {
	e := setup(b)
	ctx := context.Background()
	steps := []builder.Step{{Type: "RUN", Args: []string{"echo hi > /tmp/hi"}}}
	if _, err := e.b.Build(ctx, e.request("warm", steps...), nolog); err != nil {
		b.Fatal(err)
	}
	b.Run("image+RUN", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			req := e.request(fmt.Sprintf("cold%d", i), steps...)
			req.Force = true
			if _, err := e.b.Build(ctx, req, nolog); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.b.Build(ctx, e.request("cached", steps...), nolog); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestBuildTimeout stops a step that outlasts the build's timeout, says
// so, and leaves no build sandbox behind.
func TestBuildTimeout(t *testing.T) {
	e := setup(t)
	// The image is pulled first, so the timeout falls on the step.
	if _, err := e.b.Build(context.Background(), e.request("t0"), nolog); err != nil {
		t.Fatal(err)
	}
	req := e.request("t1", builder.Step{Type: "RUN", Args: []string{"sleep 600 & sleep 600"}})
	req.Timeout = 8 * time.Second
	start := time.Now()
	_, err := e.b.Build(context.Background(), req, nolog)
	var se *builder.StepError
	if !errors.As(err, &se) || se.Step != "1" || !strings.Contains(err.Error(), "longer than its timeout of 8s") {
		t.Fatalf("build past its timeout: %v", err)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("the timeout took %v to act", d)
	}
	left, err := e.driver.List(context.Background())
	if err != nil || len(left) != 0 {
		t.Errorf("build sandboxes left behind: %v, %v", left, err)
	}
}

// TestBuildLogBoundedOutput: a RUN step's output reaches the build log
// in lines of at most MaxLogLine bytes, even printed without a newline
// (never held whole), and no more than MaxStepLog of it, with one line
// saying the rest was not logged; the step still succeeds and what it
// printed last after the bound is kept for a failure's tail.
func TestBuildLogBoundedOutput(t *testing.T) {
	e := setup(t)
	// $k is 1 KiB, $m 1 MiB.
	const flood = `k=yyyyyyyy; i=0; while [ $i -lt 7 ]; do k=$k$k; i=$((i+1)); done; m=$k; i=0; while [ $i -lt 10 ]; do m=$m$m; i=$((i+1)); done; `
	var lines, total, warned int
	longest := 0
	log := func(level, step, msg string) {
		if step != "1" && step != "2" {
			return
		}
		lines++
		total += len(msg)
		longest = max(longest, len(msg))
		if level == "warn" && strings.Contains(msg, "not logged") {
			warned++
		}
	}
	// 1 MiB with no newline, then 24 MiB of 1 KiB lines (shell
	// builtins only: the image has no coreutils).
	req := e.request("l1", builder.Step{Type: "RUN", Args: []string{flood + `printf %s "$m"; echo; i=0; while [ $i -lt 24576 ]; do printf '%s\n' "$k"; i=$((i+1)); done`}})
	if _, err := e.b.Build(context.Background(), req, log); err != nil {
		t.Fatal(err)
	}
	if longest > builder.MaxLogLine {
		t.Errorf("a line of %d bytes reached the log, want at most %d", longest, builder.MaxLogLine)
	}
	if total > builder.MaxStepLog+builder.MaxLogLine || warned != 1 {
		t.Errorf("%d bytes in %d lines logged, %d saying the rest was not; want at most %d and one", total, lines, warned, builder.MaxStepLog)
	}
	req = e.request("l2", builder.Step{Type: "RUN", Args: []string{flood + `i=0; while [ $i -lt 24576 ]; do printf '%s\n' "$k"; i=$((i+1)); done; echo the-end; exit 4`}})
	_, err := e.b.Build(context.Background(), req, nolog)
	var se *builder.StepError
	if !errors.As(err, &se) || se.ExitCode != 4 || len(se.Tail) == 0 || se.Tail[len(se.Tail)-1] != "the-end" {
		t.Errorf("failing step past the log bound: %v, want its last line in the tail", err)
	}
}

// TestCopyCacheIsKeyedByTheFiles builds the same COPY step for two teams
// that uploaded different files under the same files hash (the client's
// name for them, which the server cannot check): the second build gets its
// own files, not a cached layer of the first team's.
func TestCopyCacheIsKeyedByTheFiles(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	const hash = "0000000000000000000000000000000000000000000000000000000000000001"
	step := builder.Step{Type: "COPY", Args: []string{".", "/app"}, FilesHash: hash}

	e.files[hash] = gzTar(t, map[string]string{"config.txt": "planted by team A\n"})
	a, err := e.b.Build(ctx, e.request("team-a", step), nolog)
	if err != nil {
		t.Fatal(err)
	}
	e.files[hash] = gzTar(t, map[string]string{"config.txt": "team B's own\n"})
	b, err := e.b.Build(ctx, e.request("team-b", step), nolog)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, b.Layers, "app/config.txt"); got != "team B's own\n" {
		t.Fatalf("team B's build has %q (cached steps %d), want its own files", got, b.Cached)
	}
	if got := read(t, a.Layers, "app/config.txt"); got != "planted by team A\n" {
		t.Fatalf("team A's template changed: %q", got)
	}
	// The same archive again is served from the cache.
	again, err := e.b.Build(ctx, e.request("team-b-again", step), nolog)
	if err != nil {
		t.Fatal(err)
	}
	if again.Cached != 1 || again.Layers[0] != b.Layers[0] {
		t.Fatalf("unchanged rebuild: %d cached, top %s (was %s)", again.Cached, again.Layers[0], b.Layers[0])
	}
}

// TestStepOutputIsPrintable runs a step that prints invalid UTF-8 and NUL
// bytes and fails: its log lines and its error are valid UTF-8 without
// NUL, which a store's text columns need, and still carry the rest.
func TestStepOutputIsPrintable(t *testing.T) {
	e := setup(t)
	var logs []string
	req := e.request("raw", builder.Step{Type: "RUN", Args: []string{`printf 'bad \377 byte\n'; printf 'nul\000here\n'; exit 1`}})
	_, err := e.b.Build(context.Background(), req, func(_, step, msg string) { logs = append(logs, msg) })
	var se *builder.StepError
	if !errors.As(err, &se) || se.ExitCode != 1 {
		t.Fatalf("build: %v, want step 1 to fail", err)
	}
	for _, s := range append(append([]string{err.Error()}, se.Tail...), logs...) {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			t.Errorf("not printable: %q", s)
		}
	}
	if msg := err.Error(); !strings.Contains(msg, "bad \uFFFD byte") || !strings.Contains(msg, "nulhere") {
		t.Errorf("the reason lost the output: %q", msg)
	}
}
