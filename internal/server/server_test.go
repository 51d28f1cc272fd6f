package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/network"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
	"github.com/soulbox/soulbox/internal/testutil"
)

func TestMain(m *testing.M) { ocitest.Main(m) }

func testConfig(t testing.TB) server.Config {
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = ocitest.Root(t)
	cfg.TemplatesDir = ocitest.TemplateCache()
	cfg.AgentPath = ocitest.AgentBinary(t)
	// Tests that want the warm pool turn it on; the others count
	// sandboxes and must not see it fill.
	cfg.PoolMax = 0
	cfg.PoolMin = 0
	return cfg
}

func TestServeAndShutdown(t *testing.T) {
	cfg := testConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()

	base := "http://" + srv.Addr()
	var health struct {
		Status    string            `json:"status"`
		Runtime   string            `json:"runtime"`
		Templates map[string]string `json:"templates"`
	}
	getJSON(t, base+"/health", http.StatusOK, &health)
	if health.Status != "ok" || !strings.HasPrefix(health.Runtime, "oci/") {
		t.Errorf("health = %+v", health)
	}
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	getJSON(t, base+"/no/such/route", http.StatusNotFound, &e)
	if e.Code != 404 || e.Message == "" {
		t.Errorf("unknown route answered %+v, want {code: 404, message}", e)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not shut down")
	}
	if _, err := net.DialTimeout("tcp", srv.Addr(), time.Second); err == nil {
		t.Error("listener still open after shutdown")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listen = "nonsense"
	if _, err := server.New(context.Background(), cfg, discardLogger()); err == nil {
		t.Fatal("New accepted listen address \"nonsense\"")
	}
}

// TestKillAndRestart kills the server binary with SIGKILL and checks what
// a restart makes of the sandboxes: the running one is re-adopted and
// still answers, the one the runtime lost is ended with reason lost, and
// the orphan the store never knew is destroyed.
func TestKillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server and creates real sandboxes")
	}
	cfg := testConfig(t)
	bin := buildServer(t, cfg.AgentPath)
	ctx := context.Background()

	// Plant the state a crash leaves: the store and the runtime as the
	// dead server had them.
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d, err := oci.New(oci.Config{Root: filepath.Join(cfg.DataDir, "runtime"), AgentPath: cfg.AgentPath, Templates: ocitest.Templates(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"kept", "ghost"} {
		if err := st.CreateSandbox(ctx, store.Sandbox{ID: id, TemplateID: "base", State: store.StateStarting}); err != nil {
			t.Fatal(err)
		}
		if err := st.SetState(ctx, id, []store.SandboxState{store.StateStarting}, store.StateRunning, store.Event{Type: store.EventStarted}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"kept", "orphan"} {
		if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base"}); err != nil {
			t.Fatal(err)
		}
		if err := d.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = d.Destroy(context.Background(), "kept") })

	var viaAPI string // a sandbox created through the API in round 1
	for round := 1; round <= 2; round++ {
		cmd, addr := startServer(t, bin, cfg)
		var health map[string]any
		getJSON(t, "http://"+addr+"/health", http.StatusOK, &health)
		key, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin.key"))
		if err != nil {
			t.Fatal(err)
		}
		c := apiClient{t: t, base: "http://" + addr, key: strings.TrimSpace(string(key))}
		if round == 1 {
			var sb sandboxJSON
			c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 600}, &sb)
			viaAPI = sb.SandboxID
			t.Cleanup(func() { _ = d.Destroy(context.Background(), viaAPI) })
		} else {
			// Created by the killed server: still listed, running and
			// reachable through the proxy of the new one.
			var detail listedJSON
			c.want(200, "GET", "/sandboxes/"+viaAPI, nil, &detail)
			if detail.State != "running" || time.Until(detail.EndAt) < 8*time.Minute {
				t.Errorf("re-adopted sandbox %+v", detail)
			}
			req, _ := http.NewRequest("GET", "http://"+addr+"/health", nil)
			req.Header.Set("E2b-Sandbox-Id", viaAPI)
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != http.StatusNoContent {
				t.Errorf("agent of the re-adopted sandbox through the proxy: %v %v", resp, err)
			}
		}

		kept, err := st.GetSandbox(ctx, "kept")
		if err != nil || kept.State != store.StateRunning {
			t.Errorf("round %d: kept = %+v, %v; want running", round, kept, err)
		}
		if res, err := d.Exec(ctx, "kept", runtime.ExecRequest{Args: []string{"true"}}); err != nil || res.ExitCode != 0 {
			t.Errorf("round %d: kept does not answer: %v", round, err)
		}
		ghost, err := st.GetSandbox(ctx, "ghost")
		if err != nil || ghost.State != store.StateEnded || ghost.EndReason != store.ReasonLost {
			t.Errorf("round %d: ghost = %+v, %v; want ended, lost", round, ghost, err)
		}
		if _, err := d.Info(ctx, "orphan"); err == nil {
			t.Errorf("round %d: orphan still exists", round)
		}
		// The crash: no shutdown, no cleanup.
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
	}
}

func buildServer(t testing.TB, agent string) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "soulbox")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/soulbox/soulbox/cmd/soulbox").CombinedOutput(); err != nil {
		t.Fatalf("build soulbox: %v\n%s", err, out)
	}
	return bin
}

// startServer runs `soulbox server` and waits until it serves.
func startServer(t *testing.T, bin string, cfg server.Config) (*exec.Cmd, string) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "server", "--listen", addr, "--data-dir", cfg.DataDir,
		"--templates-dir", cfg.TemplatesDir, "--agent", cfg.AgentPath, "--pool-min", "0", "--pool-max", "0")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		// A killed server leaves its network (the shared table, the
		// namespace directory's mount) to the next server of its data
		// directory, which here never comes.
		if err := network.Uninstall(cfg.NetworkTag()); err != nil {
			t.Errorf("remove the killed server's network: %v", err)
		}
	})
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("server exited before serving")
			}
			t.Log(line)
			if strings.Contains(line, "msg=serving") {
				go func() {
					for range lines {
					}
				}()
				return cmd, addr
			}
		case <-deadline:
			t.Fatal("server did not start serving within 60s")
		}
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	return testutil.FreeAddr(t)
}

func getJSON(t *testing.T, url string, wantStatus int, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s = %d %s, want %d", url, resp.StatusCode, body, wantStatus)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s Content-Type = %q", url, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, body)
	}
}
