package oci

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/testutil"
)

// counterPy serves the next number of an in-memory counter on 8080.
const counterPy = `import http.server
n = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global n
        n += 1
        b = str(n).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", 8080), H).serve_forever()
`

// startCheckpointable starts a sandbox running counterPy, or skips where
// this host has no CRIU that can checkpoint.
func startCheckpointable(t *testing.T, d *Driver, id string) {
	t.Helper()
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	if _, err := criuBinary(); err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Destroy(context.Background(), id); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("destroy: %v", err)
		}
		if left := d.Leftovers(context.Background(), id); len(left) > 0 {
			t.Errorf("left after destroy: %v", left)
		}
	})
	if err := d.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	sh(t, d, id, "cat > /tmp/counter.py <<'EOF'\n"+counterPy+"EOF\nsetsid python3 /tmp/counter.py </dev/null >/dev/null 2>&1 &")
	if got := counterGet(t, d, id, 15*time.Second); got != "1" {
		t.Fatalf("first GET = %q", got)
	}
}

func sh(t *testing.T, d *Driver, id, script string) string {
	t.Helper()
	var out testutil.Buffer // stdout and stderr are copied by goroutines of their own
	res, err := d.Exec(context.Background(), id, runtime.ExecRequest{Args: []string{"/bin/bash", "-c", script}, Stdout: &out, Stderr: &out})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%q: %v, exit %d: %s", script, err, res.ExitCode, out.String())
	}
	return out.String()
}

// counterGet GETs the counter, retrying for up to wait.
func counterGet(t *testing.T, d *Driver, id string, wait time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		body, err := getOnce(d, id)
		if err == nil {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET the counter: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func getOnce(d *Driver, id string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, id, 8080)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(conn, "GET / HTTP/1.0\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// The agent holds open `tasks` files of the user cgroup and its own; a
// restore makes the cgroups again, with their limits, and hands the agent
// the new ones at the same fds. The user's processes are back in the
// child cgroup, and the sandbox's memory was released in between.
func TestCheckpointKeepsUserCgroup(t *testing.T) {
	d := newTestDriver(t, nil)
	id := "ckptcg1"
	startCheckpointable(t, d, id)
	if !d.userCgroupExists(id) {
		t.Skip("no user cgroup on this host")
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "c")
	if err := d.Checkpoint(ctx, id, dir); err != nil {
		t.Fatal(err)
	}
	if d.cgroups.exists(id) {
		t.Errorf("the checkpointed sandbox's cgroups are still there")
	}
	if err := d.Restore(ctx, id, dir); err != nil {
		t.Fatal(err)
	}
	if got := counterGet(t, d, id, 0); got != "2" {
		t.Errorf("GET after restore = %q, want 2", got)
	}
	info, err := d.Info(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	env := userCgroupFDs(t, d, id)
	for i, c := range userControllers {
		for part, dir := range map[string]string{
			"user": filepath.Join(d.cgroups.dir(c, id), userCgroupName),
			"home": d.cgroups.dir(c, id),
		} {
			fd := env[part][i]
			target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", info.Pid, fd))
			if want := filepath.Join(dir, "tasks"); err != nil || target != want {
				t.Errorf("agent fd %d = %q, %v; want %s", fd, target, err, want)
			}
		}
	}
	limit, err := readUint(filepath.Join(d.cgroups.dir("memory", id), userCgroupName, "memory.limit_in_bytes"))
	if want := uint64(userMemory(info.Limits)); err != nil || limit != want {
		t.Errorf("user cgroup memory limit = %d, %v; want %d", limit, err, want)
	}
	pids, err := readPids(filepath.Join(d.cgroups.dir("pids", id), userCgroupName, "cgroup.procs"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, pid := range pids {
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		found = found || strings.Contains(string(cmd), "counter.py")
	}
	if !found {
		t.Errorf("user cgroup holds %v: want the server", pids)
	}
	assertOnlyStarterThread(t, filepath.Join(d.cgroups.dir("pids", id), userCgroupName), info.Pid)
}

// assertOnlyStarterThread checks that of the agent (pid) exactly one
// thread is in the user cgroup dir, the one it forks the sandbox's
// processes from, and not its main thread.
func assertOnlyStarterThread(t *testing.T, dir string, pid int) {
	t.Helper()
	tids, err := readPids(filepath.Join(dir, "tasks"))
	if err != nil {
		t.Fatal(err)
	}
	var agent []int
	for _, tid := range tids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/task/%d", pid, tid)); err == nil {
			agent = append(agent, tid)
		}
	}
	if len(agent) != 1 || agent[0] == pid {
		t.Errorf("agent (pid %d) threads in %s: %v; want one, not its main thread", pid, dir, agent)
	}
}

// userCgroupFDs reads the fds the sandbox's config hands the agent.
func userCgroupFDs(t *testing.T, d *Driver, id string) map[string][]int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.sandboxDir(id), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), userCgroupEnv+"=")
	if i < 0 {
		t.Fatal("config has no " + userCgroupEnv)
	}
	v := string(b[i+len(userCgroupEnv)+1:])
	v = v[:strings.IndexByte(v, '"')]
	out := map[string][]int{}
	for _, part := range strings.Split(v, ";") {
		name, list, _ := strings.Cut(part, "=")
		for _, s := range strings.Split(list, ",") {
			n, _ := strconv.Atoi(s)
			out[name] = append(out[name], n)
		}
	}
	return out
}

// A runtime that fails after it has saved and ended the sandbox must not
// cost the sandbox: it is restored from the images, and no checkpoint is
// left to be taken for a good one.
func TestCheckpointFailureKeepsSandbox(t *testing.T) {
	d := newTestDriver(t, map[string]string{"runc": failpointRuntime(t, "runc", "checkpoint")})
	id := "ckptfail1"
	startCheckpointable(t, d, id)
	dir := filepath.Join(t.TempDir(), "c")
	err := d.Checkpoint(context.Background(), id, dir)
	if err == nil {
		t.Fatal("checkpoint through a failing runtime succeeded")
	}
	for _, p := range []string{dir, dir + ".partial"} {
		if _, serr := os.Stat(p); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("%s left after a failed checkpoint: %v", p, serr)
		}
	}
	info, ierr := d.Info(context.Background(), id)
	if ierr != nil || info.Status != runtime.StatusRunning {
		t.Fatalf("after failed checkpoint (%v): %+v, %v; want running", err, info, ierr)
	}
	if got := counterGet(t, d, id, 0); got != "2" {
		t.Errorf("GET after the failed checkpoint = %q, want 2", got)
	}
}

// A paused sandbox checkpoints as a running one does and comes back
// running; a checkpointed sandbox that is never restored is destroyed
// without leftovers.
func TestCheckpointPausedThenDestroy(t *testing.T) {
	d := newTestDriver(t, nil)
	ctx := context.Background()
	id := "ckptpause1"
	startCheckpointable(t, d, id)
	if err := d.Pause(ctx, id); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "c")
	if err := d.Checkpoint(ctx, id, dir); err != nil {
		t.Fatalf("checkpoint of a paused sandbox: %v", err)
	}
	if err := d.Restore(ctx, id, dir); err != nil {
		t.Fatal(err)
	}
	if info, err := d.Info(ctx, id); err != nil || info.Status != runtime.StatusRunning {
		t.Fatalf("after restore: %+v, %v", info, err)
	}
	if got := counterGet(t, d, id, 0); got != "2" {
		t.Errorf("GET after restore = %q, want 2", got)
	}

	other := "ckptpause2"
	startCheckpointable(t, d, other)
	odir := filepath.Join(t.TempDir(), "o")
	if err := d.Checkpoint(ctx, other, odir); err != nil {
		t.Fatal(err)
	}
	// A description naming a host file that is not the sandbox's is
	// refused before anything is reopened or lent.
	meta, err := readCheckpoint(odir)
	if err != nil || len(meta.External) == 0 {
		t.Fatalf("checkpoint description: %+v, %v; want the agent's files", meta, err)
	}
	meta.External[0].Path = "/etc/shadow"
	b, _ := json.Marshal(meta)
	if err := os.WriteFile(filepath.Join(odir, checkpointMetaFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Restore(ctx, other, odir); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("restore from a description naming /etc/shadow: %v", err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/etc/shadow", &st); err != nil || st.Uid != 0 {
		t.Errorf("/etc/shadow owner %d, %v", st.Uid, err)
	}
	if err := d.Destroy(ctx, other); err != nil {
		t.Fatalf("destroy of a checkpointed sandbox: %v", err)
	}
	if left := d.Leftovers(ctx, other); len(left) > 0 {
		t.Errorf("left after destroying a checkpointed sandbox: %v", left)
	}
}
