package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// snapshotBlob is the digest of the blob in object storage that the
// newest build of snapshot id names.
func snapshotBlob(t *testing.T, cfg server.Config, id string) string {
	t.Helper()
	var digest string
	withStore(t, cfg, func(st *sqlite.Store) {
		builds, err := st.ListBuilds(context.Background(), id)
		if err != nil || len(builds) == 0 {
			t.Fatalf("builds of snapshot %s: %v, %d", id, err, len(builds))
		}
		var rec struct {
			Pack *struct {
				Digest string `json:"digest"`
			} `json:"pack"`
		}
		if err := json.Unmarshal([]byte(builds[len(builds)-1].Request), &rec); err != nil || rec.Pack == nil {
			t.Fatalf("snapshot %s records no blob: %v %s", id, err, builds[len(builds)-1].Request)
		}
		digest = rec.Pack.Digest
	})
	return digest
}

// createRetrying creates a sandbox from body, asking again while the
// answer is 503 (a node's first heartbeat with its service address not
// yet in); it returns the last answer.
func createRetrying(t *testing.T, c apiClient, body map[string]any) (int, []byte) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, b, _ := c.do("POST", "/sandboxes", body)
		if code != 503 || time.Now().After(deadline) {
			return code, b
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestJoinedNodeSnapshot: a running sandbox on a joined node (a `soulbox
// node` child) is snapshotted with its processes and memory into object
// storage while it runs on. Sandboxes created from the snapshot, one on
// another joined node and one on the source's own, each have the
// Python counter's state and the file, with their own ids and tokens;
// the source runs on. Snapshots with files only (asked, or of a paused
// sandbox) boot with the files and the environment they are given. A corrupted blob is refused and leaves nothing on
// the node nor a live record; the snapshot is listed as embedded ones
// are, and deleting it frees its blob in the bucket.
func TestJoinedNodeSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes on two joined nodes")
	}
	const (
		nameA, poolA = "node-snap-a", "10.247.120.0/24"
		nameB, poolB = "node-snap-b", "10.247.121.0/24"
	)
	bin, s3, nodeAddr, c, cfg, s3Flags := bucketControlPlane(t)
	ctx := context.Background()

	// The source on node A, the only node ready: a counter counted once
	// and a file.
	listenA := freeAddr(t)
	a, dirA := joinRunningNode(t, c, bin, "https://"+nodeAddr, nameA, listenA, poolA, s3Flags...)
	dA := controlPlaneDriver(t, cfg, nameA, listenA)
	waitDial(t, dA, a)
	var made []string
	t.Cleanup(func() {
		for _, id := range made {
			c.do("DELETE", "/sandboxes/"+id, nil)
		}
	})
	src := createOnNode(t, c, a, map[string]any{"timeout": 600}, &made)
	if o, code := sh(t, c, src, counterServer+" echo from-node-src > /home/user/kept.txt; for i in $(seq 50); do curl -s localhost:8000 >/dev/null && exit 0; sleep 0.1; done; exit 1"); code != 0 {
		t.Fatalf("counter server did not start: %s", o)
	}

	start := time.Now()
	var snap snapshotJSON
	c.want(201, "POST", "/sandboxes/"+src.SandboxID+"/snapshots", map[string]any{"name": "node-snap"}, &snap)
	t.Logf("a snapshot of a sandbox on a joined node took %v", time.Since(start))
	digest := snapshotBlob(t, cfg, snap.SnapshotID)
	blob := s3.BlobPath("soulbox", digest)
	if _, err := os.Stat(blob); err != nil {
		t.Fatalf("the snapshot's blob is not in the bucket: %v", err)
	}
	if code, body := proxied(t, c, src.SandboxID, "8000"); code != 200 || body != "2" {
		t.Errorf("the source's counter after its snapshot: %d %q, want 200 \"2\"", code, body)
	}
	if st := storedSandbox(t, cfg, src.SandboxID); st.State != store.StateRunning || st.Node != nameA {
		t.Errorf("the source after its snapshot is %s on %q, want running on %s", st.State, st.Node, nameA)
	}
	var list []struct {
		SnapshotID string `json:"snapshotID"`
	}
	c.want(200, "GET", "/snapshots?sandboxID="+src.SandboxID, nil, &list)
	if len(list) != 1 || list[0].SnapshotID != snap.SnapshotID {
		t.Errorf("snapshots of the source: %+v, want %s", list, snap.SnapshotID)
	}
	c.want(200, "GET", "/snapshots?name=node-snap", nil, &list)
	if len(list) != 1 {
		t.Errorf("snapshots named node-snap: %+v", list)
	}

	// Node B joins, node A drains: creates from the snapshot go to B.
	listenB := freeAddr(t)
	b, dirB := joinRunningNode(t, c, bin, "https://"+nodeAddr, nameB, listenB, poolB, s3Flags...)
	dB := controlPlaneDriver(t, cfg, nameB, listenB)
	waitDial(t, dB, b)
	c.want(204, "POST", "/nodes/"+nameA, map[string]any{"status": "draining"}, nil)

	// A corrupted blob is refused: nothing on node B, no live record.
	whole, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), whole...)
	bad[len(bad)/2] ^= 0xff
	if err := os.WriteFile(blob, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := createRetrying(t, c, map[string]any{"templateID": snap.SnapshotID, "timeout": 600}); code != 409 || !strings.Contains(string(body), "object storage") {
		t.Errorf("create from a corrupted snapshot blob = %d %s, want 409 saying its fetch from object storage failed\nnode B:\n%s", code, body, b.stderr)
	} else {
		t.Logf("create from a corrupted blob: %d %s", code, body)
	}
	if got, err := dB.List(ctx); err != nil || len(got) != 0 {
		t.Errorf("node B holds %+v (%v) after a refused restore", got, err)
	}
	if es, _ := os.ReadDir(filepath.Join(dirB, "checkpoints-transfers")); len(es) > 0 {
		t.Errorf("transfers left on node B: %d", len(es))
	}
	withStore(t, cfg, func(st *sqlite.Store) {
		live, err := st.ListSandboxes(ctx, store.SandboxFilter{States: store.LiveStates})
		if err != nil || len(live) != 1 || live[0].ID != src.SandboxID {
			t.Errorf("live sandboxes after a refused restore: %+v (%v), want the source only", live, err)
		}
	})
	if err := os.WriteFile(blob, whole, 0o644); err != nil {
		t.Fatal(err)
	}

	check := func(sb sandboxJSON, node string) {
		t.Helper()
		if st := storedSandbox(t, cfg, sb.SandboxID); st.State != store.StateRunning || st.Node != node {
			t.Errorf("sandbox %s from the snapshot is %s on %q, want running on %s", sb.SandboxID, st.State, st.Node, node)
		}
		if code, body := proxied(t, c, sb.SandboxID, "8000"); code != 200 || body != "2" {
			t.Errorf("counter in a sandbox from the snapshot on %s: %d %q, want 200 \"2\"", node, code, body)
		}
		if o, code := sh(t, c, sb, "cat /home/user/kept.txt; hostname"); code != 0 || o != "from-node-src\n"+sb.SandboxID+"\n" {
			t.Errorf("in the sandbox from the snapshot on %s: %d %q, want the file and its own host name", node, code, o)
		}
		if code, body := proxiedDo(t, c, "GET", "/envs", "", sb.SandboxID, "49983", "X-Access-Token", *src.EnvdAccessToken); code != 401 {
			t.Errorf("sandbox from the snapshot with the source's access token: %d %s, want 401", code, body)
		}
	}
	var onB sandboxJSON
	start = time.Now()
	if code, body := createRetrying(t, c, map[string]any{"templateID": "node-snap", "timeout": 600}); code != 201 {
		t.Fatalf("create from the snapshot on node B = %d %s\nnode B:\n%s", code, body, b.stderr)
	} else if err := json.Unmarshal(body, &onB); err != nil {
		t.Fatal(err)
	}
	t.Logf("a create from the snapshot on another node took %v", time.Since(start))
	made = append(made, onB.SandboxID)
	check(onB, nameB)

	// A sandbox restored from the snapshot is snapshotted in turn, and
	// restores with its own state (its counter at 2).
	var again snapshotJSON
	c.want(201, "POST", "/sandboxes/"+onB.SandboxID+"/snapshots", nil, &again)
	againBlob := s3.BlobPath("soulbox", snapshotBlob(t, cfg, again.SnapshotID))
	var second sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": again.SnapshotID, "timeout": 600}, &second)
	made = append(made, second.SandboxID)
	if code, body := proxied(t, c, second.SandboxID, "8000"); code != 200 || body != "3" {
		t.Errorf("counter in a sandbox from a snapshot of a restored sandbox: %d %q, want 200 \"3\"", code, body)
	}
	if st := storedSandbox(t, cfg, second.SandboxID); st.Node != nameB {
		t.Errorf("sandbox from the second snapshot is on %q, want %s", st.Node, nameB)
	}

	// Node A ready again, node B draining: the next one on the source's
	// own node.
	c.want(204, "POST", "/nodes/"+nameA, map[string]any{"status": "ready"}, nil)
	c.want(204, "POST", "/nodes/"+nameB, map[string]any{"status": "draining"}, nil)
	var onA sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": snap.SnapshotID, "timeout": 600}, &onA)
	made = append(made, onA.SandboxID)
	check(onA, nameA)
	if code, body := proxied(t, c, src.SandboxID, "8000"); code != 200 || body != "3" {
		t.Errorf("the source's own counter: %d %q, want 200 \"3\"", code, body)
	}
	c.want(400, "POST", "/sandboxes", map[string]any{"templateID": snap.SnapshotID, "envVars": map[string]string{"A": "1"}}, nil)

	// Files only, of the running source and of a paused sandbox:
	// creates from them boot with the files, without the processes,
	// with the environment they are given.
	var files, ofPaused snapshotJSON
	c.want(201, "POST", "/sandboxes/"+src.SandboxID+"/snapshots", map[string]any{"memory": false}, &files)
	c.want(204, "POST", "/sandboxes/"+onA.SandboxID+"/pause", map[string]any{"memory": true}, nil)
	c.want(201, "POST", "/sandboxes/"+onA.SandboxID+"/snapshots", nil, &ofPaused)
	c.want(200, "GET", "/snapshots?sandboxID="+onA.SandboxID, nil, &list)
	if len(list) != 1 || list[0].SnapshotID != ofPaused.SnapshotID {
		t.Errorf("snapshots of the paused sandbox: %+v", list)
	}
	var fileBlobs []string
	for _, sn := range []snapshotJSON{files, ofPaused} {
		fileBlobs = append(fileBlobs, s3.BlobPath("soulbox", snapshotBlob(t, cfg, sn.SnapshotID)))
		var booted sandboxJSON
		c.want(201, "POST", "/sandboxes", map[string]any{"templateID": sn.SnapshotID, "timeout": 600, "envVars": map[string]string{"FROM": "files"}}, &booted)
		made = append(made, booted.SandboxID)
		if st := storedSandbox(t, cfg, booted.SandboxID); st.State != store.StateRunning || st.Node != nameA {
			t.Errorf("sandbox from a files-only snapshot is %s on %q, want running on %s", st.State, st.Node, nameA)
		}
		if o, code := sh(t, c, booted, "cat /home/user/kept.txt; echo $FROM; pgrep -f 'http[.]server' || echo no-counter"); code != 0 || o != "from-node-src\nfiles\nno-counter\n" {
			t.Errorf("in a sandbox from files-only snapshot %s: %d %q, want the file, its environment and no counter", sn.SnapshotID, code, o)
		}
		c.want(204, "DELETE", "/sandboxes/"+booted.SandboxID, nil, nil)
		c.want(204, "DELETE", "/templates/"+sn.SnapshotID, nil, nil)
	}
	for _, p := range fileBlobs {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the blob of a deleted files-only snapshot is still in the bucket: %v", err)
		}
	}

	// In use, the snapshot stays; once its sandboxes are gone it is
	// deleted, with its blob.
	c.want(409, "DELETE", "/templates/"+snap.SnapshotID, nil, nil)
	for _, sb := range []sandboxJSON{onA, onB, second} {
		c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
	}
	nodeHostClean(t, dirB, "soulbox-test-"+nameB, onB.SandboxID)
	nodeHostClean(t, dirB, "soulbox-test-"+nameB, second.SandboxID)
	nodeHostClean(t, dirA, "soulbox-test-"+nameA, onA.SandboxID)
	c.want(204, "DELETE", "/templates/"+snap.SnapshotID, nil, nil)
	if _, err := os.Stat(blob); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the blob of a deleted snapshot is still in the bucket: %v", err)
	}
	if _, err := os.Stat(againBlob); err != nil {
		t.Errorf("the blob of another snapshot went with the first: %v", err)
	}
	c.want(204, "DELETE", "/templates/"+again.SnapshotID, nil, nil)
	if _, err := os.Stat(againBlob); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the blob of the second deleted snapshot is still in the bucket: %v", err)
	}
	c.want(200, "GET", "/snapshots", nil, &list)
	if len(list) != 0 {
		t.Errorf("snapshots after the delete: %+v", list)
	}
	if o, code := sh(t, c, src, "cat /home/user/kept.txt"); code != 0 || strings.TrimSpace(o) != "from-node-src" {
		t.Errorf("the source after the delete: %d %q", code, o)
	}
}
