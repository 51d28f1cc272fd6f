package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestPauseCheckpointInObjectStorage: with object storage configured, a
// sandbox paused through the API whose checkpoint is then lost from the
// data dir (a server restarted on a replaced disk keeps only its store)
// resumes from the bucket, its in-memory counter going on through the
// proxy. A corrupted copy is refused with a 409 saying so and the
// sandbox stays paused.
func TestPauseCheckpointInObjectStorage(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	s3 := s3test.Start(t, "soulbox")
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	cfg.Network = "off"
	cfg.Objects = server.ObjectsConfig{Endpoint: s3.Endpoint, Bucket: "soulbox", AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey}
	addr, stop := serveInProcess(t, cfg)
	c := apiClient{t: t, base: "http://" + addr, key: cfg.AdminKey}
	sb := create(t, c, map[string]any{"timeout": 600})
	id := sb.SandboxID
	if o, code := sh(t, c, sb, counterServer+" for i in $(seq 50); do curl -s localhost:8000 >/dev/null && exit 0; sleep 0.1; done; exit 1"); code != 0 {
		t.Fatalf("counter server did not start: %s", o)
	}
	if code, body := proxied(t, c, id, "8000"); code != 200 || body != "2" {
		t.Fatalf("counter through the proxy: %d %q, want 200 \"2\"", code, body)
	}
	c.want(204, "POST", "/sandboxes/"+id+"/pause", map[string]any{}, nil)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// The checkpoint is gone from the disk; the store says where it is.
	if err := os.RemoveAll(filepath.Join(cfg.DataDir, "checkpoints", id)); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := st.CheckpointObject(t.Context(), id)
	st.Close()
	if err != nil {
		t.Fatalf("the pause recorded no checkpoint in object storage: %v", err)
	}
	blob := s3.BlobPath("soulbox", rec.Digest)
	whole, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blob, whole[:len(whole)/3], 0o644); err != nil {
		t.Fatal(err)
	}

	addr, stop = serveInProcess(t, cfg)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	c.base = "http://" + addr
	code, body, _ := c.do("POST", "/sandboxes/"+id+"/resume", map[string]any{"timeout": 600})
	if code != 409 || !strings.Contains(string(body), "refused") {
		t.Fatalf("resume from a truncated checkpoint: %d %s; want 409 saying it was refused", code, body)
	}
	var detail listedJSON
	c.want(200, "GET", "/sandboxes/"+id, nil, &detail)
	if detail.State != string(store.StatePaused) {
		t.Fatalf("after a refused resume: state %q, want paused", detail.State)
	}

	if err := os.WriteFile(blob, whole, 0o644); err != nil {
		t.Fatal(err)
	}
	c.want(201, "POST", "/sandboxes/"+id+"/resume", map[string]any{"timeout": 600}, nil)
	if code, body := proxied(t, c, id, "8000"); code != 200 || body != "3" {
		t.Fatalf("counter after resuming from object storage: %d %q, want 200 \"3\"", code, body)
	}
	c.want(204, "DELETE", "/sandboxes/"+id, nil, nil)
}
