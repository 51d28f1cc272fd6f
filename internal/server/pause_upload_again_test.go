package server_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// TestPauseUploadStartedAgain: a sandbox paused with its memory while
// the object storage hangs has its upload cut short by the server's
// shutdown, and nothing recorded. The next start uploads it again: the
// pause is recorded in object storage, and with its checkpoint then
// lost from the data dir the sandbox resumes from the bucket, its
// in-memory counter going on.
func TestPauseUploadStartedAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	s3 := s3test.Start(t, "soulbox")
	hanger := s3test.StartHanger(t, s3)
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	cfg.Network = "off"
	cfg.Objects = server.ObjectsConfig{Endpoint: hanger.Endpoint, Bucket: "soulbox", AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey}
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
	hanger.Hang()
	c.want(204, "POST", "/sandboxes/"+id+"/pause", map[string]any{}, nil)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	recorded := func() error {
		st, err := sqlite.Open(t.Context(), filepath.Join(cfg.DataDir, "soulbox.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, err = st.CheckpointObject(t.Context(), id)
		return err
	}
	if err := recorded(); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("record of an upload the shutdown cut short: %v, want none", err)
	}

	// Started again with the object storage answering: the upload is
	// started again and recorded.
	cfg.Objects.Endpoint = s3.Endpoint
	addr, stop = serveInProcess(t, cfg)
	deadline := time.Now().Add(time.Minute)
	for {
		err := recorded()
		if err == nil {
			break
		}
		if !errors.Is(err, errdefs.ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("the pause is not recorded in object storage after the start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// What was uploaded is the pause: with the disk's copy gone, the
	// sandbox resumes from the bucket with its memory.
	if err := os.RemoveAll(filepath.Join(cfg.DataDir, "checkpoints", id)); err != nil {
		t.Fatal(err)
	}
	addr, stop = serveInProcess(t, cfg)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	c.base = "http://" + addr
	c.want(201, "POST", "/sandboxes/"+id+"/resume", map[string]any{"timeout": 600}, nil)
	if code, body := proxied(t, c, id, "8000"); code != 200 || body != "3" {
		t.Fatalf("counter after resuming from the upload started again: %d %q, want 200 \"3\"", code, body)
	}
	c.want(204, "DELETE", "/sandboxes/"+id, nil, nil)
}
