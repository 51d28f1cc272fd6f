package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
)

func TestMain(m *testing.M) { ocitest.Main(m) }

// cliEnv is a running server and the soulbox binary pointed at it.
type cliEnv struct {
	bin, url, key string
}

func newCLIEnv(t *testing.T) cliEnv {
	t.Helper()
	return newCLIEnvWith(t, nil)
}

// newCLIEnvWith is newCLIEnv with the server's configuration changed by
// mod.
func newCLIEnvWith(t *testing.T, mod func(*server.Config)) cliEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the CLI and creates real sandboxes")
	}
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = ocitest.Root(t)
	cfg.TemplatesDir = ocitest.TemplateCache()
	cfg.AgentPath = ocitest.AgentBinary(t)
	cfg.AdminKey, _, _ = auth.Generate()
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	bin := filepath.Join(t.TempDir(), "soulbox")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/soulbox/soulbox/cmd/soulbox").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	e := cliEnv{bin: bin, url: "http://" + srv.Addr(), key: cfg.AdminKey}
	t.Cleanup(func() {
		e.run(t, "", "sandbox", "kill", "--all")
		cancel()
		<-done
	})
	return e
}

// command is the CLI with args and the server in the environment, as a
// shell set up for the E2B SDKs would have it.
func (e cliEnv) command(args ...string) *exec.Cmd {
	cmd := exec.Command(e.bin, args...)
	cmd.Env = append(os.Environ(), "E2B_API_URL="+e.url, "E2B_API_KEY="+e.key, "SOULBOX_API_URL=", "SOULBOX_API_KEY=")
	return cmd
}

// run runs the CLI (command) and returns what it printed and its exit
// status.
func (e cliEnv) run(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := e.command(args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

func TestSandboxCommands(t *testing.T) {
	e := newCLIEnv(t)
	out, errOut, code := e.run(t, "", "sandbox", "create", "--template", "base", "--cpu", "1", "--memory", "512MB", "--timeout", "10m", "--metadata", "app=cli", "--json")
	if code != 0 {
		t.Fatalf("create: %d %s", code, errOut)
	}
	var sb struct {
		SandboxID string `json:"sandboxID"`
	}
	if err := json.Unmarshal([]byte(out), &sb); err != nil || sb.SandboxID == "" {
		t.Fatalf("create --json: %q %v", out, err)
	}
	other, _, _ := e.run(t, "", "sandbox", "create")
	other = strings.TrimSpace(other)

	out, _, _ = e.run(t, "", "sandbox", "list", "--metadata", "app=cli", "--state", "running", "--json")
	var list []struct {
		SandboxID string `json:"sandboxID"`
		CPUCount  int    `json:"cpuCount"`
		MemoryMB  int    `json:"memoryMB"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].SandboxID != sb.SandboxID || list[0].CPUCount != 1 || list[0].MemoryMB != 512 {
		t.Errorf("list --metadata: %q %v", out, err)
	}
	if out, _, _ := e.run(t, "", "sandbox", "list"); !strings.Contains(out, sb.SandboxID) || !strings.Contains(out, other) {
		t.Errorf("table list lacks the sandboxes:\n%s", out)
	}

	// exec: output, exit code, stdin.
	out, errOut, code = e.run(t, "", "exec", sb.SandboxID, "--", "bash", "-c", "echo out; echo err >&2; exit 3")
	if out != "out\n" || errOut != "err\n" || code != 3 {
		t.Errorf("exec: %q %q %d", out, errOut, code)
	}
	out, _, code = e.run(t, "piped input\n", "exec", sb.SandboxID, "--", "tr", "a-z", "A-Z")
	if out != "PIPED INPUT\n" || code != 0 {
		t.Errorf("exec with stdin: %q %d", out, code)
	}
	out, _, _ = e.run(t, "", "exec", "-u", "root", sb.SandboxID, "--", "id", "-u")
	if out != "0\n" {
		t.Errorf("exec -u root: %q", out)
	}

	// kill one, then the rest.
	if _, errOut, code := e.run(t, "", "sandbox", "kill", sb.SandboxID); code != 0 {
		t.Errorf("kill: %d %s", code, errOut)
	}
	e.run(t, "", "sandbox", "kill", "--all")
	if out, _, _ := e.run(t, "", "sandbox", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("after kill --all: %s", out)
	}
}

func TestClientErrors(t *testing.T) {
	e := newCLIEnv(t)
	for _, tc := range []struct {
		name string
		env  cliEnv
		args []string
		want string
	}{
		{"unknown sandbox", e, []string{"exec", "inosuchsandbox", "--", "true"}, "not found"},
		{"kill unknown", e, []string{"sandbox", "kill", "inosuchsandbox"}, "not found"},
		{"wrong key", cliEnv{bin: e.bin, url: e.url, key: "e2b_0000000000000000000000000000000000000000"}, []string{"sandbox", "list"}, "unknown API key"},
		{"server down", cliEnv{bin: e.bin, url: "http://127.0.0.1:1", key: e.key}, []string{"sandbox", "list"}, "cannot reach the SoulBox server"},
		{"bad memory", e, []string{"sandbox", "create", "--memory", "lots"}, "use e.g. 512MB"},
		{"unknown template", e, []string{"sandbox", "create", "--template", "nope"}, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := tc.env.run(t, "", tc.args...)
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if code == 0 || len(lines) != 1 || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "goroutine") {
				t.Errorf("exit %d, stderr %q: want one line containing %q", code, errOut, tc.want)
			}
		})
	}
}

func TestSandboxLifecycleCommands(t *testing.T) {
	e := newCLIEnv(t)
	id, errOut, code := e.run(t, "", "sandbox", "create")
	id = strings.TrimSpace(id)
	if code != 0 {
		t.Fatalf("create: %s", errOut)
	}
	if _, errOut, code := e.run(t, "", "sandbox", "pause", id); code != 0 {
		t.Fatalf("pause: %s", errOut)
	}
	if out, _, _ := e.run(t, "", "sandbox", "list", "--state", "paused"); !strings.Contains(out, id) {
		t.Errorf("paused sandbox not listed as paused:\n%s", out)
	}
	if _, errOut, code := e.run(t, "", "sandbox", "pause", id); code == 0 || !strings.Contains(errOut, "already paused") {
		t.Errorf("second pause: %d %s", code, errOut)
	}
	if _, errOut, code := e.run(t, "", "sandbox", "resume", id, "--timeout", "20m"); code != 0 {
		t.Fatalf("resume: %s", errOut)
	}

	// ps sees a command while exec runs it. It is sleep 30, with a loop
	// beside it whose ticks show when logs below follows it.
	bg := exec.Command(e.bin, "exec", id, "--", "sh", "-c", "while :; do echo tick; sleep 0.2; done & exec sleep 30")
	bg.Env = append(os.Environ(), "E2B_API_URL="+e.url, "E2B_API_KEY="+e.key)
	if err := bg.Start(); err != nil {
		t.Fatal(err)
	}
	defer bg.Process.Kill()
	var ps string
	for i := 0; i < 50 && !strings.Contains(ps, "sleep 30"); i++ {
		ps, _, _ = e.run(t, "", "ps", id)
	}
	if !strings.Contains(ps, "sleep 30") {
		t.Errorf("ps:\n%s", ps)
	}
	// logs ID PID follows that process until it ends.
	var pid string
	for _, line := range strings.Split(ps, "\n") {
		if strings.Contains(line, "sleep 30") {
			pid = strings.Fields(line)[0]
		}
	}
	logs := e.command("logs", id, pid)
	var logsErr bytes.Buffer
	logs.Stderr = &logsErr
	logsOut, err := logs.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := logs.Start(); err != nil {
		t.Fatal(err)
	}
	defer logs.Process.Kill()
	attached := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(logsOut)
		seen := false
		for sc.Scan() {
			if !seen && sc.Text() == "tick" {
				seen = true
				close(attached)
			}
		}
		_, _ = io.Copy(io.Discard, logsOut)
	}()
	// The process is ended only once logs follows it: its output shows.
	select {
	case <-attached:
	case <-time.After(15 * time.Second):
		t.Errorf("logs %s never showed the process's output", pid)
	}
	// pkill again should the first find sh not yet become sleep.
	for deadline := time.Now().Add(15 * time.Second); ; {
		e.run(t, "", "exec", "-u", "root", id, "--", "pkill", "-x", "sleep")
		select {
		case <-drained:
		case <-time.After(time.Second):
			if time.Now().Before(deadline) {
				continue
			}
			t.Errorf("logs %s went on after the process was killed", pid)
			logs.Process.Kill()
			<-drained
		}
		break
	}
	code = 0
	if err := logs.Wait(); err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	if errOut := logsErr.String(); code != 0 || !strings.Contains(errOut, "process "+pid+" ended") {
		t.Errorf("logs %s: %d %s", pid, code, errOut)
	}
	if _, errOut, code := e.run(t, "", "logs", id, "999999"); code == 0 || !strings.Contains(errOut, "not found") {
		t.Errorf("logs of an unknown pid: %d %s", code, errOut)
	}

	out, _, code := e.run(t, "", "sandbox", "metrics", id, "--json")
	var ms []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &ms) != nil || len(ms) == 0 {
		t.Errorf("metrics: %d %q", code, out)
	}
	if out, _, _ := e.run(t, "", "sandbox", "logs", id); !strings.Contains(out, "created") || !strings.Contains(out, "paused") || !strings.Contains(out, "agent ready") {
		t.Errorf("logs:\n%s", out)
	}
}

func TestAuthLogin(t *testing.T) {
	e := newCLIEnv(t)
	home := t.TempDir()
	run := func(env []string, args ...string) (string, string, int) {
		cmd := exec.Command(e.bin, args...)
		cmd.Env = append(env, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "PATH="+os.Getenv("PATH"))
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return out.String(), errOut.String(), code
	}
	if _, errOut, code := run(nil, "auth", "login", "--server", e.url, "--api-key", "e2b_0000000000000000000000000000000000000000"); code == 0 {
		t.Errorf("login with a wrong key succeeded: %s", errOut)
	}
	if _, errOut, code := run(nil, "auth", "login", "--server", e.url, "--api-key", e.key); code != 0 {
		t.Fatalf("login: %s", errOut)
	}
	fi, err := os.Stat(filepath.Join(home, ".config", "soulbox", "login.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved login: %v %v", fi, err)
	}
	// No environment: the saved login is used.
	if out, errOut, code := run(nil, "auth", "whoami"); code != 0 || !strings.Contains(out, e.url) || !strings.Contains(out, "accepted") {
		t.Errorf("whoami: %d %q %q", code, out, errOut)
	}
	if _, errOut, code := run(nil, "sandbox", "list"); code != 0 {
		t.Errorf("list with the saved login: %s", errOut)
	}
	run(nil, "auth", "logout")
	if _, errOut, code := run(nil, "sandbox", "list"); code == 0 || !strings.Contains(errOut, "no API key") {
		t.Errorf("after logout: %d %s", code, errOut)
	}
}

func TestFilesCommands(t *testing.T) {
	e := newCLIEnv(t)
	id, _, _ := e.run(t, "", "sandbox", "create")
	id = strings.TrimSpace(id)
	dir := t.TempDir()
	tree := map[string]string{"a.txt": "alpha", "sub/b.txt": "bravo", "sub/deep/c.txt": "charlie"}
	for rel, content := range tree {
		p := filepath.Join(dir, "src", rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	// A 100 MB file, not compressible, streamed both ways.
	big := filepath.Join(dir, "big.bin")
	f, _ := os.Create(big)
	chunk := make([]byte, 1<<20)
	for i := range 100 {
		for j := range chunk {
			chunk[j] = byte(i*31 + j*7)
		}
		f.Write(chunk)
	}
	f.Close()

	if _, errOut, code := e.run(t, "", "files", "upload", id, filepath.Join(dir, "src"), "/home/user/proj"); code != 0 {
		t.Fatalf("upload tree: %s", errOut)
	}
	if _, errOut, code := e.run(t, "", "files", "upload", id, big, "/home/user/big.bin"); code != 0 {
		t.Fatalf("upload big: %s", errOut)
	}
	out, _, _ := e.run(t, "", "exec", id, "--", "bash", "-c", "cd /home/user/proj && cat a.txt sub/b.txt sub/deep/c.txt && stat -c %U sub/deep/c.txt")
	if out != "alphabravocharlieuser\n" {
		t.Errorf("tree in the sandbox: %q", out)
	}
	back := filepath.Join(dir, "big.back")
	if _, errOut, code := e.run(t, "", "files", "download", id, "/home/user/big.bin", back); code != 0 {
		t.Fatalf("download: %s", errOut)
	}
	want, _ := os.ReadFile(big)
	got, _ := os.ReadFile(back)
	if !bytes.Equal(got, want) {
		t.Errorf("100 MB round trip differs: %d bytes back of %d", len(got), len(want))
	}

	// sync: only what changed goes.
	os.WriteFile(filepath.Join(dir, "src", "sub/b.txt"), []byte("bravo two"), 0o644)
	os.WriteFile(filepath.Join(dir, "src", "new.txt"), []byte("new"), 0o644)
	_, errOut, code := e.run(t, "", "files", "sync", id, filepath.Join(dir, "src"), "/home/user/proj")
	if code != 0 || !strings.Contains(errOut, "2 of 4 files changed") {
		t.Errorf("sync: %d %s", code, errOut)
	}
	out, _, _ = e.run(t, "", "exec", id, "--", "cat", "/home/user/proj/sub/b.txt", "/home/user/proj/new.txt")
	if out != "bravo twonew" {
		t.Errorf("after sync: %q", out)
	}
	if _, errOut, _ := e.run(t, "", "files", "sync", id, filepath.Join(dir, "src"), "/home/user/proj"); !strings.Contains(errOut, "0 of 4 files changed") {
		t.Errorf("second sync: %s", errOut)
	}

	// Bad input: one line, non-zero.
	for _, args := range [][]string{
		{"files", "upload", id, filepath.Join(dir, "missing"), "/tmp/x"},
		{"files", "download", id, "/home/user/nope", filepath.Join(dir, "nope")},
	} {
		_, errOut, code := e.run(t, "", args...)
		if code == 0 || len(strings.Split(strings.TrimSpace(errOut), "\n")) != 1 {
			t.Errorf("%v: %d %q", args, code, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nope")); err == nil {
		t.Error("a failed download left a file")
	}
}
