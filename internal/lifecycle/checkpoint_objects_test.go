package lifecycle_test

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
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// counterServer serves the next number of an in-memory counter on 8080:
// state that only a restore of the process's memory keeps.
const counterServer = `import http.server
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

// objEnv is a manager whose checkpoints also go to a versitygw.
type objEnv struct {
	m      *lifecycle.Manager
	st     store.Store
	driver *oci.Driver
	srv    *s3test.Server
	cpDir  string
}

func newObjEnv(t *testing.T) objEnv {
	t.Helper()
	return newObjEnvConfig(t, func(srv *s3test.Server) objstore.Config { return srv.Config("soulbox") }, nil)
}

// newObjEnvConfig is newObjEnv with the object storage configuration
// config gives for the server, and the manager's configuration changed
// by edit, if not nil.
func newObjEnvConfig(t *testing.T, config func(*s3test.Server) objstore.Config, edit func(*lifecycle.Config)) objEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	srv := s3test.Start(t, "soulbox")
	objs, err := objstore.Open(context.Background(), config(srv))
	if err != nil {
		t.Fatal(err)
	}
	templates := ocitest.Templates(t)
	d, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: templates})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cpDir := t.TempDir()
	cfg := lifecycle.Config{Store: st, Driver: d, Templates: templates, CheckpointDir: cpDir, Objects: objs}
	if edit != nil {
		edit(&cfg)
	}
	m := lifecycle.New(cfg)
	t.Cleanup(func() {
		m.Stop()
		live, _ := st.ListSandboxes(context.Background(), store.SandboxFilter{States: []store.SandboxState{store.StateRunning, store.StatePaused}})
		for _, sb := range live {
			_ = m.Kill(context.Background(), sb.ID, store.ReasonKilled, "test over")
		}
	})
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return objEnv{m: m, st: st, driver: d, srv: srv, cpDir: cpDir}
}

// counting creates a sandbox running counterServer and takes its first
// number.
func (e objEnv) counting(t *testing.T) string {
	t.Helper()
	return e.countingWith(t, store.Lifecycle{})
}

// countingWith is counting of a sandbox with lifecycle l.
func (e objEnv) countingWith(t *testing.T, l store.Lifecycle) string {
	t.Helper()
	ctx := context.Background()
	sb, err := e.m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t", Lifecycle: l})
	if err != nil {
		t.Fatal(err)
	}
	script := "cat > /tmp/counter.py <<'EOF'\n" + counterServer + "EOF\nsetsid python3 /tmp/counter.py </dev/null >/dev/null 2>&1 &"
	var out strings.Builder
	if res, err := e.driver.Exec(ctx, sb.ID, runtime.ExecRequest{Args: []string{"/bin/bash", "-c", script}, Stdout: &out, Stderr: &out}); err != nil || res.ExitCode != 0 {
		t.Fatalf("start the counter: %v, exit %d: %s", err, res.ExitCode, out.String())
	}
	if got := e.count(t, sb.ID, 15*time.Second); got != "1" {
		t.Fatalf("first count %q, want 1", got)
	}
	return sb.ID
}

// count GETs the sandbox's counter, retrying for up to wait.
func (e objEnv) count(t *testing.T, id string, wait time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		body, err := func() (string, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn, err := e.driver.DialContext(ctx, id, 8080)
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
		}()
		if err == nil {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET the counter of %s: %v", id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pauseAway pauses sandbox id with its memory and removes its checkpoint
// from this disk, as on a node that lost its disk or never had it. It
// returns the record of the checkpoint in object storage.
func (e objEnv) pauseAway(t *testing.T, id string) store.CheckpointObject {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	if err := e.m.Pause(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	e.m.WaitObjectWork() // the upload follows the pause
	took := time.Since(start)
	rec, err := e.st.CheckpointObject(ctx, id)
	if err != nil {
		t.Fatalf("no record of the checkpoint in object storage after the pause: %v", err)
	}
	t.Logf("pause and its upload: %v, checkpoint blob %d bytes (%s)", took, rec.Size, rec.Digest)
	if err := os.RemoveAll(filepath.Join(e.cpDir, id)); err != nil {
		t.Fatal(err)
	}
	return rec
}

func (e objEnv) mustBePaused(t *testing.T, id string) {
	t.Helper()
	sb, err := e.st.GetSandbox(context.Background(), id)
	if err != nil || sb.State != store.StatePaused {
		t.Fatalf("sandbox %s: state %s, %v; want paused", id, sb.State, err)
	}
	if _, err := os.Stat(filepath.Join(e.cpDir, id)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused checkpoint was installed: %v", err)
	}
}

// TestResumeFetchesCheckpoint: a sandbox paused with its memory whose
// checkpoint is gone from this disk resumes from the copy in object
// storage with its processes' memory intact; a corrupted copy is refused
// with an error saying so, and the sandbox stays paused, to resume once
// the copy is whole again.
func TestResumeFetchesCheckpoint(t *testing.T) {
	e := newObjEnv(t)
	ctx := context.Background()
	id := e.counting(t)
	rec := e.pauseAway(t, id)

	blob := e.srv.BlobPath("soulbox", rec.Digest)
	whole, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte{}, whole...)
	bad[len(bad)/2] ^= 0x01
	if err := os.WriteFile(blob, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.m.Connect(ctx, id, 0)
	if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "corrupted") {
		t.Fatalf("resume from a corrupted checkpoint: %v; want it refused as corrupted", err)
	}
	e.mustBePaused(t, id)

	if err := os.WriteFile(blob, whole, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, resumed, err := e.m.Connect(ctx, id, 0); err != nil || !resumed {
		t.Fatalf("resume: resumed %v, %v", resumed, err)
	}
	t.Logf("resume with a %d-byte download: %v", rec.Size, time.Since(start))
	if got := e.count(t, id, 10*time.Second); got != "2" {
		t.Fatalf("count after the resume %q, want 2 (the memory restored)", got)
	}
	if _, err := e.st.CheckpointObject(ctx, id); !errdefs.IsNotFound(err) {
		t.Errorf("the used checkpoint is still recorded: %v", err)
	}
	if _, err := os.Stat(blob); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the used checkpoint's blob is still in the bucket: %v", err)
	}

	// A paused sandbox that ends takes its checkpoint's blob with it.
	killed := e.counting(t)
	rec = e.pauseAway(t, killed)
	if err := e.m.Kill(ctx, killed, store.ReasonKilled, "test"); err != nil {
		t.Fatal(err)
	}
	e.m.WaitObjectWork() // the blob is deleted after the kill
	if _, err := os.Stat(e.srv.BlobPath("soulbox", rec.Digest)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a killed sandbox's checkpoint blob is still in the bucket: %v", err)
	}
}

// TestCheckpointObjectStorageDown: object storage that has gone away
// never loses a sandbox. A resume that needs it fails saying it is
// unreachable, and the sandbox stays paused; a pause while it is away is
// acknowledged once the checkpoint is on disk, records no copy, and
// resumes from the disk.
func TestCheckpointObjectStorageDown(t *testing.T) {
	e := newObjEnv(t)
	ctx := context.Background()
	away := e.counting(t)
	e.pauseAway(t, away)
	local := e.counting(t)
	e.srv.Stop()

	_, _, err := e.m.Connect(ctx, away, 0)
	if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("resume with the object storage down: %v; want unavailable", err)
	}
	e.mustBePaused(t, away)

	if err := e.m.Pause(ctx, local, true); err != nil {
		t.Fatalf("pause with the object storage down: %v", err)
	}
	e.m.WaitObjectWork() // the upload, failing, follows the pause
	if _, err := e.st.CheckpointObject(ctx, local); !errdefs.IsNotFound(err) {
		t.Fatalf("a failed upload was recorded: %v", err)
	}
	if _, _, err := e.m.Connect(ctx, local, 0); err != nil {
		t.Fatal(err)
	}
	if got := e.count(t, local, 10*time.Second); got != "2" {
		t.Fatalf("count after the resume %q, want 2", got)
	}
}
