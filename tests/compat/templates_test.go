package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/builder/imagetest"
	soulboxcli "github.com/soulbox/soulbox/internal/cli"
	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
)

// TestE2BTemplateBuildThroughServer builds templates with the SDK's
// Template builder against a server whose registry mirror is a registry
// in this process, serving an image made of the base template's files
// under a Docker Hub name, then creates sandboxes from them.
func TestE2BTemplateBuildThroughServer(t *testing.T) {
	requireNode(t)
	base, err := ocitest.Templates(t).Layers(context.Background(), "base")
	if err != nil {
		t.Fatal(err)
	}
	host := imagetest.Serve(t)
	imagetest.Push(t, host, "library/tiny:1", []string{"PATH=/usr/bin:/bin"}, imagetest.TinyLayer(t, base[0]))

	old := lifecycle.ReadyTimeout
	lifecycle.ReadyTimeout = 5 * time.Second // the never-ready case waits this long
	defer func() { lifecycle.ReadyTimeout = old }()

	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = ocitest.Root(t)
	cfg.TemplatesDir = filepath.Join(cfg.DataDir, "templates")
	cfg.AgentPath = ocitest.AgentBinary(t)
	cfg.PoolMax = 0
	cfg.RegistryMirrors = "http://" + host
	// Images named with the registry's own address are pulled from it
	// too, which a server refuses for private addresses unless allowed.
	cfg.TemplateLimits.RegistryAllowNets = "127.0.0.0/8"
	// The default template comes from the shared cache: link its recipe's
	// directory rather than building it again.
	if err := os.MkdirAll(cfg.TemplatesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(ocitest.TemplateCache(), "base"), filepath.Join(cfg.TemplatesDir, "base")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	}()
	key, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + srv.Addr()
	files, _ := filepath.Glob("templates/*.test.mjs")
	cmd := exec.Command("node", append([]string{"--test", "--test-reporter=spec", "--test-concurrency=1"}, files...)...)
	cmd.Env = append(os.Environ(), "E2B_API_URL="+url, "E2B_SANDBOX_URL="+url, "E2B_API_KEY="+strings.TrimSpace(string(key)),
		"E2B_DOMAIN=localhost", "TINY_IMAGE=tiny:1", "REGISTRY="+host, "LAYERS_DIR="+filepath.Join(cfg.DataDir, "layers"))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the E2B SDK template tests failed: %v", err)
	}
	t.Run("DockerfileThroughCLI", func(t *testing.T) {
		testDockerfileCLI(t, url, strings.TrimSpace(string(key)))
	})
}

// testDockerfileCLI builds a template with `soulbox template build
// --dockerfile` and creates a sandbox from it.
func testDockerfileCLI(t *testing.T, url, key string) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("hello.txt", "copied from the context\n")
	good := write("Dockerfile", `FROM tiny:1
LABEL purpose=test
ENV GREETING="from a dockerfile"
WORKDIR /srv
COPY hello.txt ./
RUN echo "$GREETING" > /srv/greeting
USER root
CMD ["sleep", "100000"]
`)
	cli := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		root := soulboxcli.NewRoot()
		if args[1] != "init" {
			args = append(args, "--server", url, "--api-key", key)
		}
		root.SetArgs(args)
		root.SetOut(&out)
		root.SetErr(&errOut)
		err := root.ExecuteContext(context.Background())
		return out.String(), errOut.String(), err
	}
	out, logs, err := cli("template", "build", "df-tpl:v1", "--dockerfile", good, "--json")
	if err != nil {
		t.Fatalf("build: %v\n%s", err, logs)
	}
	if !strings.Contains(out, `"status":"ready"`) || !strings.Contains(logs, "uploaded hello.txt") || !strings.Contains(logs, "RUN echo") {
		t.Errorf("build output %q, log:\n%s", out, logs)
	}
	// A second build finds the files on the server and every step cached.
	_, logs, err = cli("template", "build", "df-tpl:v1", "--dockerfile", good)
	if err != nil || !strings.Contains(logs, "hello.txt already on the server") || strings.Count(logs, "CACHED") != 3 {
		t.Errorf("rebuild: %v\n%s", err, logs)
	}

	// template tag points another tag at the build; sandboxes start from it.
	if out, _, err := cli("template", "tag", "df-tpl:v1", "stable", "--json"); err != nil || !strings.Contains(out, `"stable"`) {
		t.Errorf("template tag: %v\n%s", err, out)
	}
	if _, _, err := cli("template", "tag", "df-tpl:nope", "x"); err == nil || !strings.Contains(err.Error(), `no tag "nope"`) {
		t.Errorf("tagging an unknown tag: %v", err)
	}

	c := &client.Client{BaseURL: url, APIKey: key}
	sb, err := c.Create(context.Background(), client.CreateOptions{Template: "df-tpl:stable", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	code, err := c.Exec(context.Background(), sb, []string{"/bin/sh", "-c", "cat /srv/greeting /srv/hello.txt; id -un; pwd; for f in /proc/[0-9]*/cmdline; do cat $f; echo; done"},
		client.ExecOptions{Stdout: &got, Stderr: &got})
	if err != nil || code != 0 {
		t.Fatalf("exec: %d, %v\n%s", code, err, got.String())
	}
	for _, want := range []string{"from a dockerfile\n", "copied from the context\n", "root\n", "/srv\n", "sleep 100000"} {
		if !strings.Contains(strings.ReplaceAll(got.String(), "\x00", " "), want) {
			t.Errorf("sandbox of the Dockerfile template: %q lacks %q", got.String(), want)
		}
	}

	// list, get and delete, with sizes; deleting is refused while the
	// sandbox runs.
	out, _, err = cli("template", "list", "--json")
	if err != nil || !strings.Contains(out, `"df-tpl"`) || !strings.Contains(out, `"base"`) {
		t.Errorf("template list: %v\n%s", err, out)
	}
	var listed []client.Template
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatal(err)
	}
	for _, tpl := range listed {
		if slices.Contains(tpl.Names, "df-tpl") && (tpl.SizeBytes <= 0 || tpl.BuildCount != 2 || tpl.BuildStatus != "ready") {
			t.Errorf("df-tpl listed as %+v", tpl)
		}
	}
	if out, _, err = cli("template", "get", "df-tpl", "--json"); err != nil || strings.Count(out, `"status":"ready"`) != 2 {
		t.Errorf("template get: %v\n%s", err, out)
	}
	if _, _, err := cli("template", "delete", "df-tpl"); err == nil || !strings.Contains(err.Error(), "running") {
		t.Errorf("deleting a template in use: %v", err)
	}
	if err := c.Kill(context.Background(), sb.SandboxID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli("template", "delete", "df-tpl"); err != nil {
		t.Errorf("delete: %v", err)
	}
	if _, _, err := cli("template", "get", "df-tpl"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("get after delete: %v", err)
	}

	// template init writes a Dockerfile that builds (on E2B's default
	// image name, which is SoulBox's base).
	initDir := filepath.Join(dir, "starter")
	if _, _, err := cli("template", "init", initDir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli("template", "init", initDir); err == nil {
		t.Error("init over an existing Dockerfile succeeded")
	}
	if _, logs, err := cli("template", "build", "starter", "--dockerfile", filepath.Join(initDir, "Dockerfile")); err != nil {
		t.Fatalf("build the starter: %v\n%s", err, logs)
	}

	// A Dockerfile the builder cannot follow is refused with its line, and
	// registers nothing.
	bad := write("Dockerfile.bad", "FROM tiny:1\nRUN true\nHEALTHCHECK CMD true\n")
	if _, _, err := cli("template", "build", "df-bad", "--dockerfile", bad); err == nil || !strings.Contains(err.Error(), "line 3: HEALTHCHECK is not supported") {
		t.Errorf("bad Dockerfile: %v", err)
	}
	if _, _, err := cli("template", "build", "df-bad", "--dockerfile", write("Dockerfile.syntax", "FROM tiny:1\nENV ONLYNAME\n")); err == nil || !strings.Contains(err.Error(), "ENV must have two arguments") {
		t.Errorf("Dockerfile syntax error: %v", err)
	}
	var e *client.Error
	if _, _, err := c.TemplateFiles(context.Background(), "df-bad", strings.Repeat("a", 64)); !errors.As(err, &e) || e.Status != 404 {
		t.Errorf("a refused Dockerfile registered its template: %v", err)
	}
}
