package server_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
	"github.com/soulbox/soulbox/internal/testutil"
)

// TestControlPlaneReplicasShareBuilds: two control planes without
// embedded nodes on one PostgreSQL, with object storage, and one
// `soulbox node` process. A template built through replica A (on the
// node) is created through replica B, which never saw the build: the
// sandbox starts on the node and sees the build's file, because the
// archives of the build's layers are recorded in the store, not in A's
// data directory. A record an older version left in a replica's data
// directory is moved into the store when the replica starts.
func TestControlPlaneReplicasShareBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a template and creates a real sandbox on a node process")
	}
	testutil.RequiresRoot(t)
	pg := pgtest.Start(t)
	s3 := s3test.Start(t, "soulbox")
	adminKey, _, _ := auth.Generate()
	bin := buildServer(t, "")
	keysDir := t.TempDir()
	url := pg.NewDatabase(t)
	objects := server.ObjectsConfig{Endpoint: s3.Endpoint, Bucket: "soulbox", AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey}
	cfgA := replicaConfig(t, url, keysDir, adminKey)
	cfgA.Objects = objects
	cfgB := replicaConfig(t, url, keysDir, adminKey)
	cfgB.Objects = objects

	// Replica B's data directory holds a record as an older version
	// kept it: the archive of a layer it pushed.
	const (
		oldLayer = "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		oldBlob  = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	)
	oldDir := filepath.Join(cfgB.DataDir, "layers", ".blobs")
	if err := os.MkdirAll(oldDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(oldDir, oldLayer), []byte(oldBlob+" 4096"), 0o600); err != nil {
		t.Fatal(err)
	}

	addrA, stopA := serveInProcess(t, cfgA)
	t.Cleanup(func() { _ = stopA() })
	a := apiClient{t: t, base: "http://" + addrA, key: adminKey}
	addrB, stopB := serveInProcess(t, cfgB)
	t.Cleanup(func() { _ = stopB() })
	b := apiClient{t: t, base: "http://" + addrB, key: adminKey}

	// The upgraded replica moved its record into the store and keeps
	// none in its data directory.
	withServerStore(t, cfgA, func(st store.Store) {
		got, err := st.LayerBlob(context.Background(), oldLayer)
		if want := (store.LayerBlob{Layer: oldLayer, Digest: oldBlob, Size: 4096}); err != nil || got != want {
			t.Errorf("the older record in the store: %+v, %v; want %+v", got, err, want)
		}
	})
	if _, err := os.Stat(oldDir); !os.IsNotExist(err) {
		t.Errorf("the older records are still in replica B's data directory (%v)", err)
	}

	secret := filepath.Join(t.TempDir(), "s3-secret")
	if err := os.WriteFile(secret, []byte(s3test.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	listen := freeAddr(t)
	n, _ := joinRunningNode(t, a, bin, "https://"+cfgA.NodeListen, "share-node", listen, "10.247.45.0/24",
		"--s3-endpoint", s3.Endpoint, "--s3-bucket", "soulbox", "--s3-access-key", s3test.AccessKey, "--s3-secret-key-file", secret)
	keys := cfgA
	keys.DataDir = keysDir // where the node CA is
	d := controlPlaneDriver(t, keys, "share-node", listen)
	waitDial(t, d, n)

	// The build runs through A, on the node.
	var id string
	deadline := time.Now().Add(30 * time.Second)
	for id == "" {
		_, _, path := startBuild(t, a, "shared-app", "echo built-through-a > /home/user/marker")
		st := waitBuild(t, a, path)
		if st.Status == "ready" {
			id = strings.Split(path, "/")[2]
			break
		}
		// Until the node's heartbeat carries its service and storage.
		if st.Reason == nil || !strings.Contains(st.Reason.Message, "no node can build") || time.Now().After(deadline) {
			t.Fatalf("build through replica A = %+v\nlog:\n%s\nnode:\n%s", st, buildLogs(t, a, path), n.stderr)
		}
		time.Sleep(500 * time.Millisecond)
	}
	layers := storeLayers(t, cfgA, id)
	if len(layers) == 0 {
		t.Fatal("the build recorded no layer of the layer store")
	}
	for _, l := range layers {
		if ref := recordedBlob(t, cfgB, l); ref != layerRef(t, s3, l) {
			t.Errorf("layer %s recorded as %v, the bucket has %v", l, ref, layerRef(t, s3, l))
		}
	}
	for _, dir := range []string{cfgA.DataDir, cfgB.DataDir} {
		if _, err := os.Stat(filepath.Join(dir, "layers", ".blobs")); !os.IsNotExist(err) {
			t.Errorf("a replica keeps blob records in its data directory %s (%v)", dir, err)
		}
	}

	// Created through B, it starts on the node and sees the build's file.
	var sb sandboxJSON
	deadline = time.Now().Add(15 * time.Second)
	for {
		code, body, _ := b.do("POST", "/sandboxes", map[string]any{"templateID": "shared-app", "timeout": 120})
		if code == 201 {
			if err := json.Unmarshal(body, &sb); err != nil {
				t.Fatal(err)
			}
			break
		}
		// Until B sees the node's heartbeat with its service address;
		// never a refusal for want of the layers' records.
		if code != 503 || strings.Contains(string(body), "record") || time.Now().After(deadline) {
			t.Fatalf("create through replica B of a template built through A = %d %s\nnode:\n%s", code, body, n.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Cleanup(func() { b.do("DELETE", "/sandboxes/"+sb.SandboxID, nil) })
	if list, err := d.List(context.Background()); err != nil || len(list) != 1 || list[0].ID != sb.SandboxID {
		t.Fatalf("the node runs %+v, %v; want %s", list, err, sb.SandboxID)
	}
	if out, code := sh(t, b, sb, "cat /home/user/marker"); code != 0 || out != "built-through-a\n" {
		t.Errorf("the build's file in the sandbox created through B: %d %q", code, out)
	}
	b.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
}
