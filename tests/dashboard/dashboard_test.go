// Package dashboard drives the web dashboard of `soulbox server` in a real
// browser: headless Chromium, the system's, through playwright-core, with
// the steps in web/e2e/dashboard.mjs, against a server with real
// sandboxes. Screenshots of every page are kept in SOULBOX_ARTIFACTS (or
// a new temporary directory, named in the test log).
package dashboard

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
)

func TestMain(m *testing.M) { ocitest.Main(m) }

// web is the dashboard's source, which holds the browser script and its
// packages.
const web = "../../web"

func TestDashboardInBrowser(t *testing.T) {
	chromium := requireBrowser(t)
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = ocitest.Root(t)
	cfg.TemplatesDir = ocitest.TemplateCache()
	cfg.AgentPath = ocitest.AgentBinary(t)
	stop := start(t, &cfg)
	defer func() { stop() }()
	key, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin.key"))
	if err != nil {
		t.Fatalf("the server wrote no admin key: %v", err)
	}
	url := "http://" + cfg.Listen
	requireBuilt(t, url)

	artifacts := os.Getenv("SOULBOX_ARTIFACTS")
	if artifacts == "" {
		if artifacts, err = os.MkdirTemp("", "soulbox-dashboard-"); err != nil {
			t.Fatal(err)
		}
		// Kept only for a failure to be looked at.
		dir := artifacts
		t.Cleanup(func() {
			if !t.Failed() {
				os.RemoveAll(dir)
			}
		})
	} else if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", artifacts)

	// Bounded: every step has its own timeout in the script; this one
	// ends a browser that hangs regardless.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "e2e/dashboard.mjs")
	cmd.Dir = web
	cmd.Env = append(os.Environ(), "SOULBOX_URL="+url, "SOULBOX_API_KEY="+strings.TrimSpace(string(key)),
		"CHROMIUM="+chromium, "ARTIFACTS="+artifacts)
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The script asks for the server to go away and come back on the
	// same address, to see the page through a restart.
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		fmt.Println(line)
		switch line {
		case "soulbox: stop the server":
			stop()
			stop = func() {}
			fmt.Fprintln(in, "stopped")
		case "soulbox: start the server":
			stop = start(t, &cfg)
			fmt.Fprintln(in, "started")
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the browser steps failed (screenshots in %s): %v", artifacts, err)
	}
}

// start runs a server for cfg and sets cfg.Listen to the address it
// took, so that a second start comes back on the same one. The returned
// function stops it.
func start(t testing.TB, cfg *server.Config) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, *cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cfg.Listen = srv.Addr()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	}
}

// TestDashboardRoutes pins what the listener answers for the dashboard
// without a browser: / redirects to it, its page and assets are served,
// and a path outside it is still the API's 404.
func TestDashboardRoutes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = ocitest.Root(t)
	cfg.TemplatesDir = ocitest.TemplateCache()
	cfg.AgentPath = ocitest.AgentBinary(t)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	url := "http://" + srv.Addr()
	requireBuilt(t, url)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		path, want string
		status     int
	}{
		{"/", "/dashboard/", http.StatusFound},
		{"/dashboard", "/dashboard/", http.StatusTemporaryRedirect},
		{"/dashboard/", "", http.StatusOK},
		{"/dashboard/sandboxes/abc", "", http.StatusOK},
		{"/dashboard/assets/none.js", "", http.StatusNotFound},
		{"/nothing-here", "", http.StatusNotFound},
	} {
		res, err := noFollow.Get(url + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status || res.Header.Get("Location") != tc.want {
			t.Errorf("GET %s: %d Location %q, want %d %q", tc.path, res.StatusCode, res.Header.Get("Location"), tc.status, tc.want)
		}
		if tc.status == http.StatusOK && !strings.Contains(string(body), "<html") {
			t.Errorf("GET %s: not a page: %.200s", tc.path, body)
		}
		if tc.path == "/nothing-here" && !strings.Contains(string(body), `"message"`) {
			t.Errorf("GET %s: not the API's {code, message}: %.200s", tc.path, body)
		}
	}
}

// TestDashboardListen pins --dashboard-listen: the dashboard is served
// on that address only, with the API beside it for the page to call on
// its own origin, and the main listener serves the API without it.
func TestDashboardListen(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DashboardListen = "127.0.0.1:0"
	cfg.DataDir = ocitest.Root(t)
	cfg.TemplatesDir = ocitest.TemplateCache()
	cfg.AgentPath = ocitest.AgentBinary(t)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	key, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	api, dash := "http://"+srv.Addr(), "http://"+srv.DashboardAddr()
	if srv.DashboardAddr() == "" || srv.DashboardAddr() == srv.Addr() {
		t.Fatalf("the dashboard is on %q, the API on %q", srv.DashboardAddr(), srv.Addr())
	}
	requireBuilt(t, dash)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		base, path, want string
		status           int
		key              bool
	}{
		{dash, "/", "/dashboard/", http.StatusFound, false},
		{dash, "/dashboard/", "", http.StatusOK, false},
		{dash, "/v2/sandboxes", "", http.StatusOK, true},
		{dash, "/v2/sandboxes", "", http.StatusUnauthorized, false},
		{dash, "/nothing-here", "", http.StatusNotFound, false},
		{api, "/", "", http.StatusNotFound, false},
		{api, "/dashboard/", "", http.StatusNotFound, false},
		{api, "/v2/sandboxes", "", http.StatusOK, true},
	} {
		req, _ := http.NewRequest(http.MethodGet, tc.base+tc.path, nil)
		if tc.key {
			req.Header.Set("X-API-Key", strings.TrimSpace(string(key)))
		}
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		where := "dashboard"
		if tc.base == api {
			where = "api"
		}
		if res.StatusCode != tc.status || res.Header.Get("Location") != tc.want {
			t.Errorf("GET %s on the %s address: %d Location %q, want %d %q: %.200s", tc.path, where, res.StatusCode, res.Header.Get("Location"), tc.status, tc.want, body)
		}
		if tc.status == http.StatusNotFound && !strings.Contains(string(body), `"message"`) {
			t.Errorf("GET %s on the %s address: not the API's {code, message}: %.200s", tc.path, where, body)
		}
	}
}

// TestDashboardListenTaken: an address already in use for the dashboard
// stops the server from starting, saying which flag to change.
func TestDashboardListenTaken(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DashboardListen = taken.Addr().String()
	cfg.DataDir = ocitest.Root(t)
	cfg.TemplatesDir = ocitest.TemplateCache()
	cfg.AgentPath = ocitest.AgentBinary(t)
	srv, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err == nil {
		t.Fatalf("the server started with the dashboard on %s, which is taken (its API on %s)", cfg.DashboardListen, srv.Addr())
	}
	if !strings.Contains(err.Error(), "--dashboard-listen") {
		t.Errorf("the error does not name the flag: %v", err)
	}
}

// requireBrowser finds the system Chromium and the script's packages.
func requireBrowser(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("creates real sandboxes and starts a browser")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed (scripts/setup.sh installs it)")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (scripts/setup.sh installs Debian's package)")
	}
	for _, p := range []string{"playwright-core", "e2b"} {
		if _, err := os.Stat(filepath.Join(web, "node_modules", p)); err != nil {
			t.Fatalf("%s is not installed: run npm ci in web (scripts/setup.sh does)", p)
		}
	}
	return chromium
}

// requireBuilt fails when the binary under test was compiled without the
// built app: the browser would find only the page that says to build it.
func requireBuilt(t testing.TB, url string) {
	t.Helper()
	res, err := http.Get(url + "/dashboard/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if strings.Contains(string(body), "not built") {
		t.Fatal("the dashboard was not built before this test was compiled: run npm run build in web (scripts/setup.sh does)")
	}
}
