package runtimetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// counterServer is a Python HTTP server that keeps a counter in memory
// only: each GET answers the next number. After a restore it must go on
// counting where it was, which nothing but its own memory can tell.
const counterServer = `
import http.server
n = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global n
        n += 1
        body = str(n).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", 8080), H).serve_forever()
`

// checkpointer returns the driver's Checkpointer and Dialer, or skips.
func (s *suite) checkpointer(t *testing.T) (runtime.Checkpointer, runtime.Dialer) {
	t.Helper()
	c, ok := s.d.(runtime.Checkpointer)
	if !ok {
		t.Skip("driver cannot checkpoint sandboxes")
	}
	dialer, ok := s.d.(runtime.Dialer)
	if !ok {
		t.Skip("driver cannot dial into sandboxes")
	}
	return c, dialer
}

func (s *suite) testCheckpointRestore(t *testing.T) {
	c, dialer := s.checkpointer(t)
	info := s.start(t, runtime.Limits{})
	id := info.ID
	ctx := context.Background()
	s.mustRun(t, id, "cat > /tmp/counter.py <<'EOF'\n"+counterServer+"\nEOF\n"+
		"echo kept > /root/kept.txt\n"+
		"setsid python3 /tmp/counter.py </dev/null >/dev/null 2>&1 &")
	if got := httpGet(t, dialer, id, 8080, true); got != "1" {
		t.Fatalf("first GET = %q, want 1", got)
	}
	if got := httpGet(t, dialer, id, 8080, false); got != "2" {
		t.Fatalf("second GET = %q, want 2", got)
	}

	// A connection left open to the agent across the checkpoint (as the
	// server's proxy leaves them) is saved and restored too, not a
	// reason to fail.
	idle, err := dialer.DialContext(ctx, id, 49983)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if _, err := fmt.Fprint(idle, "GET /health HTTP/1.1\r\nHost: sandbox\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.ReadResponse(bufio.NewReader(idle), nil); err != nil || resp.StatusCode != 204 {
		t.Fatalf("health over the kept connection: %v, %v", resp, err)
	}

	dir := filepath.Join(t.TempDir(), "ckpt")
	if err := c.Checkpoint(ctx, id, dir); err != nil {
		if errors.Is(err, errdefs.ErrFailedPrecondition) {
			t.Skipf("checkpoint not available here: %v", err)
		}
		t.Fatalf("checkpoint: %v", err)
	}
	if got, err := s.d.Info(ctx, id); err != nil || got.Status != runtime.StatusStopped {
		t.Fatalf("after checkpoint: %+v, %v; want stopped", got, err)
	}
	// Its processes are gone and its cgroups with them: nothing of its
	// memory is still charged on the host.
	for _, cg := range cgroupsNaming(id) {
		t.Errorf("checkpointed sandbox still has cgroup %s", cg)
	}
	if procs := processesInRange(info.HostUID, info.HostUID+65536, id); len(procs) > 0 {
		t.Errorf("checkpointed sandbox still has processes: %v", procs)
	}
	if _, err := os.Stat(dir + ".partial"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial checkpoint left beside the complete one: %v", err)
	}
	if _, err := dialer.DialContext(ctx, id, 8080); err == nil {
		t.Error("dial into a checkpointed sandbox succeeded")
	}

	if err := c.Restore(ctx, id, dir); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if got, err := s.d.Info(ctx, id); err != nil || got.Status != runtime.StatusRunning || got.ID != id {
		t.Fatalf("after restore: %+v, %v; want running", got, err)
	}
	if got := httpGet(t, dialer, id, 8080, false); got != "3" {
		t.Errorf("GET after restore = %q, want 3: the server's memory was not restored", got)
	}
	if got := s.mustRun(t, id, "cat /root/kept.txt; hostname"); got != "kept\n"+id {
		t.Errorf("files and identity after restore = %q", got)
	}
	s.wantNetwork(t, id, "after restore")
	// The agent answers again on its own port.
	if got := httpStatus(t, dialer, id, 49983, "/health"); got != 204 {
		t.Errorf("agent health after restore: status %d", got)
	}

	// A second checkpoint either works or is refused up front; either
	// way the sandbox is not lost.
	dir2 := filepath.Join(t.TempDir(), "ckpt2")
	err = c.Checkpoint(ctx, id, dir2)
	switch {
	case err == nil:
		if err := c.Restore(ctx, id, dir2); err != nil {
			t.Fatalf("second restore: %v", err)
		}
	case errors.Is(err, errdefs.ErrFailedPrecondition):
		t.Logf("second checkpoint refused: %v", err)
	default:
		t.Fatalf("second checkpoint: %v", err)
	}
	if got := httpGet(t, dialer, id, 8080, false); got != "4" {
		t.Errorf("GET after the second checkpoint = %q, want 4", got)
	}
}

func (s *suite) testRecreate(t *testing.T) {
	r, ok := s.d.(runtime.Recreator)
	if !ok {
		t.Skip("driver cannot boot a stopped sandbox again")
	}
	info := s.start(t, runtime.Limits{})
	id := info.ID
	ctx := context.Background()
	s.mustRun(t, id, "echo kept > /root/kept.txt; setsid sleep 1000 </dev/null >/dev/null 2>&1 &")
	wantErr(t, r.Recreate(ctx, id), errdefs.ErrFailedPrecondition, "recreate of a running sandbox")
	wantErr(t, r.Recreate(ctx, newID("x")), errdefs.ErrNotFound, "recreate of an unknown sandbox")
	wantErr(t, r.Release(ctx, id), errdefs.ErrFailedPrecondition, "release of a running sandbox")
	if err := s.d.Stop(ctx, id); err != nil {
		t.Fatal(err)
	}
	// Released, a stopped sandbox holds no cgroup (nor the memory charged
	// to it) until it is recreated.
	if err := r.Release(ctx, id); err != nil {
		t.Fatalf("release: %v", err)
	}
	for _, cg := range cgroupsNaming(id) {
		t.Errorf("released sandbox still has cgroup %s", cg)
	}
	if err := r.Recreate(ctx, id); err != nil {
		t.Fatalf("recreate: %v", err)
	}
	if got, err := s.d.Info(ctx, id); err != nil || got.Status != runtime.StatusCreated {
		t.Fatalf("after recreate: %+v, %v; want created", got, err)
	}
	if err := s.d.Start(ctx, id); err != nil {
		t.Fatalf("start after recreate: %v", err)
	}
	if got := s.mustRun(t, id, "cat /root/kept.txt; hostname; pgrep -x sleep || echo none"); got != "kept\n"+id+"\nnone" {
		t.Errorf("after a cold boot: %q; want the file, the same hostname and no old process", got)
	}
	s.wantNetwork(t, id, "after recreate")
}

// wantNetwork checks that sandbox id has its network devices (loopback,
// and its link when the driver gives one), up: a restored or recreated
// sandbox gets a new network namespace, to which its link must move.
func (s *suite) wantNetwork(t *testing.T, id, when string) {
	t.Helper()
	want := "lo"
	if s.opts.Network {
		want = "eth0 lo"
	}
	out := s.mustRun(t, id, "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' '")
	if strings.TrimSpace(out) != want {
		t.Errorf("network devices %s = %q, want %q", when, out, want)
	}
	if s.opts.Network {
		if out := s.mustRun(t, id, "ip -4 route show default"); !strings.Contains(out, "dev eth0") {
			t.Errorf("default route %s = %q, want one via eth0", when, out)
		}
	}
}

func (s *suite) testCheckpointBadInput(t *testing.T) {
	c, _ := s.checkpointer(t)
	ctx := context.Background()
	info := s.start(t, runtime.Limits{})
	id := info.ID
	tmp := t.TempDir()

	wantErr(t, c.Checkpoint(ctx, newID("x"), filepath.Join(tmp, "a")), errdefs.ErrNotFound, "checkpoint of an unknown sandbox")
	wantErr(t, c.Checkpoint(ctx, "../etc", filepath.Join(tmp, "a")), errdefs.ErrInvalidArgument, "checkpoint of a bad id")
	wantErr(t, c.Checkpoint(ctx, id, "relative/dir"), errdefs.ErrInvalidArgument, "checkpoint to a relative directory")
	wantErr(t, c.Checkpoint(ctx, id, tmp), errdefs.ErrAlreadyExists, "checkpoint over an existing directory")
	wantErr(t, c.Restore(ctx, id, filepath.Join(tmp, "none")), errdefs.ErrFailedPrecondition, "restore of a running sandbox")

	// A checkpoint cut short (images but no description) is not one.
	partial := filepath.Join(tmp, "partial")
	if err := os.MkdirAll(filepath.Join(partial, "images"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.d.Stop(ctx, id); err != nil {
		t.Fatal(err)
	}
	wantErr(t, c.Restore(ctx, id, partial), errdefs.ErrNotFound, "restore from a partial checkpoint")
	wantErr(t, c.Checkpoint(ctx, id, filepath.Join(tmp, "b")), errdefs.ErrFailedPrecondition, "checkpoint of a stopped sandbox")
	if _, err := os.Stat(filepath.Join(tmp, "b")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused checkpoint left its directory: %v", err)
	}
	if got, err := s.d.Info(ctx, id); err != nil || got.Status != runtime.StatusStopped {
		t.Errorf("bad input changed the sandbox: %+v, %v", got, err)
	}
}

// httpGet GETs / on a port of the sandbox and returns the body; wait
// retries until the server listens.
func httpGet(t *testing.T, dialer runtime.Dialer, id string, port int, wait bool) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		body, err := get(dialer, id, port, "/")
		if err == nil {
			return body
		}
		if !wait || time.Now().After(deadline) {
			t.Fatalf("GET port %d: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func httpStatus(t *testing.T, dialer runtime.Dialer, id string, port int, path string) int {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, err := status(dialer, id, port, path)
		if err == nil {
			return code
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET port %d%s: %v", port, path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(dialer runtime.Dialer, id string, port int, path string) (string, error) {
	resp, err := roundTrip(dialer, id, port, path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func status(dialer runtime.Dialer, id string, port int, path string) (int, error) {
	resp, err := roundTrip(dialer, id, port, path)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func roundTrip(dialer runtime.Dialer, id string, port int, path string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := dialer.DialContext(ctx, id, port)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: sandbox\r\n\r\n", path); err != nil {
		conn.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{resp.Body, closers{resp.Body, conn}}
	return resp, nil
}

type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
