package lifecycle_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// answeringNode stands for joined node n1 (the real driver of this
// host) whose upload of a paused sandbox answers with blob, whatever it
// uploaded.
type answeringNode struct {
	*oci.Driver
	blob  runtime.PausedBlob
	asked chan string
}

func (a *answeringNode) UploadPaused(_ context.Context, id string) (runtime.PausedBlob, error) {
	// Read before the send: the test sets the next case's blob once it
	// has received, and only what came before the send is ordered
	// before that.
	b := a.blob
	a.asked <- id
	return b, nil
}

func (a *answeringNode) RestoreFromBlobOn(context.Context, string, runtime.Spec, runtime.PausedBlob) (bool, error) {
	return false, errdefs.ErrUnavailable
}

func (a *answeringNode) DestroyOn(context.Context, string, string) error { return nil }
func (a *answeringNode) Moved(string, string)                            {}

// TestNodeUploadRecordedOnlyIfHeld: the blob a joined node answers its
// paused sandbox's upload with is recorded (what another node restores
// it from, and what is deleted once it resumes) only when object
// storage holds it at the size named; a blob never uploaded, or named
// with another size, leaves no record.
func TestNodeUploadRecordedOnlyIfHeld(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	ctx := context.Background()
	objs, err := objstore.Open(ctx, s3test.Start(t, "soulbox").Config("soulbox"))
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("a paused sandbox's pack")
	p := filepath.Join(t.TempDir(), "pack")
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	held := runtime.PausedBlob{Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(content))}
	if _, err := objs.PutBlob(ctx, held.Digest, p, held.Size); err != nil {
		t.Fatal(err)
	}
	templates := ocitest.Templates(t)
	d, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: templates})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	node := &answeringNode{Driver: d, asked: make(chan string, 1)}
	m := lifecycle.New(lifecycle.Config{Store: st, Driver: node, Templates: templates, CheckpointDir: t.TempDir(), Objects: objs})
	m.UsePlacer(func(context.Context, lifecycle.CreateRequest) (string, error) { return "n1", nil })
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		live, _ := st.ListSandboxes(context.Background(), store.SandboxFilter{States: store.LiveStates})
		for _, sb := range live {
			_ = m.Kill(context.Background(), sb.ID, store.ReasonKilled, "test over")
		}
		m.Stop()
	})
	for _, c := range []struct {
		name   string
		blob   runtime.PausedBlob
		record bool
	}{
		{"never uploaded", runtime.PausedBlob{Digest: "sha256:" + strings.Repeat("d", 64), Size: 5}, false},
		{"another size", runtime.PausedBlob{Digest: held.Digest, Size: held.Size + 1}, false},
		{"held", held, true},
	} {
		node.blob = c.blob
		sb, err := m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t"})
		if err != nil {
			t.Fatal(err)
		}
		if sb.Node != "n1" {
			t.Fatalf("created on %q, want n1", sb.Node)
		}
		if err := m.Pause(ctx, sb.ID, false); err != nil {
			t.Fatal(err)
		}
		select {
		case <-node.asked:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the node was never asked to upload", c.name)
		}
		// The answer is checked, and recorded or not, by the upload's
		// background work.
		m.WaitObjectWork()
		rec, err := st.CheckpointObject(ctx, sb.ID)
		switch {
		case c.record && (err != nil || rec.Digest != held.Digest):
			t.Errorf("%s: record %+v, %v; want the held blob", c.name, rec, err)
		case !c.record && !errdefs.IsNotFound(err):
			t.Errorf("%s: record %+v, %v; want none", c.name, rec, err)
		}
	}
}
