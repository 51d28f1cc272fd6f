package server_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/builder/imagetest"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/postgres"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
	"github.com/soulbox/soulbox/internal/testutil"
)

// buildLogs is the text of a build's log lines so far.
func buildLogs(t *testing.T, c apiClient, path string) string {
	t.Helper()
	var st struct {
		Logs []string `json:"logs"`
	}
	c.want(200, "GET", path+"?logsOffset=0", nil, &st)
	return strings.Join(st.Logs, "\n")
}

// uploadCopyFiles uploads a tar archive holding name with content for
// template id's COPY steps under files hash, as the SDK does, unless the
// server has it.
func uploadCopyFiles(t *testing.T, c apiClient, id, hash, name, content string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var up struct {
		Present bool   `json:"present"`
		URL     string `json:"url"`
	}
	c.want(201, "GET", "/templates/"+id+"/files/"+hash, nil, &up)
	if up.Present {
		return // uploaded for an earlier build of the template
	}
	if up.URL == "" {
		t.Fatalf("files %s of %s: %+v, want an upload URL", hash, id, up)
	}
	req, err := http.NewRequest("PUT", up.URL, &buf)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		t.Fatalf("upload of files %s: %s", hash, res.Status)
	}
}

// TestControlPlaneBuildsOnNodes: a control plane without an embedded
// node (on PostgreSQL, with object storage) builds templates on its
// joined nodes. With no node joined, or only one without object
// storage, a build fails saying why. A build
// through E2B's API runs on a joined node, its log and status read
// through the control plane, and an image build pulls through the
// control plane's registry mirror; the layers it made are in the bucket and
// recorded by the control plane with their archives, so a sandbox of
// the template created on the other node (which fetches them) sees the
// build's file. A failing step fails the build with its output and exit
// code in the log and reason. Deleting a template while it builds, or
// its team's build minutes running out, stops its build sandbox on the
// node. A node killed mid-build fails the
// build with a reason naming it, and the build sandbox it left is gone
// once the node starts again.
func TestControlPlaneBuildsOnNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds templates and creates real sandboxes on node processes")
	}
	testutil.RequiresRoot(t)
	pg := pgtest.Start(t)
	s3 := s3test.Start(t, "soulbox")
	adminKey, _, _ := auth.Generate()
	bin := buildServer(t, "")
	keysDir := t.TempDir()
	dbURL := pg.NewDatabase(t)
	cfg := replicaConfig(t, dbURL, keysDir, adminKey)
	cfg.Objects = server.ObjectsConfig{Endpoint: s3.Endpoint, Bucket: "soulbox", AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey}
	// An image under a Docker Hub name, served only by a registry in
	// this process that the control plane names as its mirror, at an
	// address builds may reach only because the control plane allows it.
	baseLayers, err := ocitest.Templates(t).Layers(context.Background(), "base")
	if err != nil {
		t.Fatal(err)
	}
	registry := imagetest.Serve(t)
	imagetest.Push(t, registry, "library/tiny:1", []string{"PATH=/usr/bin:/bin"}, imagetest.TinyLayer(t, baseLayers[0]))
	cfg.RegistryMirrors = "http://" + registry
	cfg.TemplateLimits.RegistryAllowNets = "127.0.0.0/8"
	addr, stop := serveInProcess(t, cfg)
	t.Cleanup(func() { _ = stop() })
	c := apiClient{t: t, base: "http://" + addr, key: adminKey}

	// No node yet: the build is taken, and fails saying why.
	_, _, path := startBuild(t, c, "nowhere-app", "true")
	if st := waitBuild(t, c, path); st.Status != "error" || st.Reason == nil || !strings.Contains(st.Reason.Message, "no node can build the template") {
		t.Fatalf("build with no node joined = %+v, want an error saying no node can build it", st)
	}

	// A node without object storage builds nothing: its layers would
	// stay on its disk. The build fails naming it and why.
	plainListen := freeAddr(t)
	plain, _ := joinRunningNode(t, c, bin, "https://"+cfg.NodeListen, "build-plain", plainListen, "10.247.43.0/24")
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, _, path = startBuild(t, c, "plain-app", "true")
		st := waitBuild(t, c, path)
		if st.Status == "error" && st.Reason != nil && strings.Contains(st.Reason.Message, "no node is ready for this build: node build-plain has no object storage to upload a build's layers to") {
			break
		}
		// Until build-plain's heartbeat carries its service address.
		if st.Status != "error" || time.Now().After(deadline) {
			t.Fatalf("build with only a node without object storage = %+v\nnode:\n%s", st, plain.stderr)
		}
		time.Sleep(300 * time.Millisecond)
	}
	c.want(204, "POST", "/nodes/build-plain", map[string]any{"status": "draining"}, nil)

	secret := filepath.Join(t.TempDir(), "s3-secret")
	if err := os.WriteFile(secret, []byte(s3test.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s3Flags := []string{"--s3-endpoint", s3.Endpoint, "--s3-bucket", "soulbox", "--s3-access-key", s3test.AccessKey, "--s3-secret-key-file", secret}
	cp := "https://" + cfg.NodeListen
	aListen, bListen := freeAddr(t), freeAddr(t)
	keys := cfg
	keys.DataDir = keysDir // where the node CA is
	na, aDir := joinRunningNode(t, c, bin, cp, "build-a", aListen, "10.247.41.0/24", s3Flags...)
	da := controlPlaneDriver(t, keys, "build-a", aListen)
	waitDial(t, da, na)

	// The build runs on build-a, the only ready node; its log and status
	// come through the control plane.
	deadline = time.Now().Add(30 * time.Second)
	var id string
	for id == "" {
		var req struct {
			TemplateID string `json:"templateID"`
			BuildID    string `json:"buildID"`
		}
		c.want(202, "POST", "/v3/templates", map[string]any{"name": "node-app", "cpuCount": 1, "memoryMB": 512}, &req)
		const hash = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
		uploadCopyFiles(t, c, req.TemplateID, hash, "copied.txt", "copied-through-the-bucket\n")
		started := time.Now()
		c.want(202, "POST", "/v2/templates/"+req.TemplateID+"/builds/"+req.BuildID, map[string]any{
			"fromTemplate": "base",
			"steps": []map[string]any{{"type": "RUN", "args": []string{"echo said-by-the-build; echo built-on-a-node > /home/user/marker"}},
				{"type": "ENV", "args": []string{"FROM_NODE_BUILD", "yes"}},
				{"type": "COPY", "args": []string{"copied.txt", "/home/user/"}, "filesHash": hash}},
		}, nil)
		path = "/templates/" + req.TemplateID + "/builds/" + req.BuildID + "/status"
		st := waitBuild(t, c, path)
		if st.Status == "ready" {
			id = req.TemplateID
			t.Logf("built on build-a (RUN, ENV, COPY; started to ready as the status shows it) in %v", time.Since(started).Round(time.Millisecond))
			break
		}
		// Until build-a's heartbeat carries its service and storage.
		if st.Reason == nil || !strings.Contains(st.Reason.Message, "no node can build") || time.Now().After(deadline) {
			t.Fatalf("build on build-a = %+v\nlog:\n%s\nnode:\n%s", st, buildLogs(t, c, path), na.stderr)
		}
		time.Sleep(500 * time.Millisecond)
	}
	logs := buildLogs(t, c, path)
	for _, want := range []string{"building on node build-a", "said-by-the-build", "uploading"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the build's log lacks %q:\n%s", want, logs)
		}
	}
	// Its layers were made on build-a and are recorded by the control
	// plane, in its store, with the archive build-a uploaded each as.
	es := storeLayers(t, cfg, id)
	if len(es) == 0 {
		t.Fatalf("the control plane recorded no layer of the build")
	}
	for _, e := range es {
		if _, err := os.Stat(filepath.Join(aDir, "layers", e)); err != nil {
			t.Errorf("layer %s is recorded but was not made on build-a: %v", e, err)
		}
		if ref := recordedBlob(t, cfg, e); ref != layerRef(t, s3, e) {
			t.Errorf("layer %s recorded as %v, the bucket has %v", e, ref, layerRef(t, s3, e))
		}
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "layers", e)); err == nil {
			t.Errorf("layer %s is on the control plane's disk: a build on a node should leave it there", e)
		}
	}

	// An image build on build-a pulls through the control plane's
	// mirror, with its allowance for private addresses.
	buildTemplate(t, c, "image-app", map[string]any{"fromImage": "tiny:1",
		"steps": []map[string]any{{"type": "RUN", "args": []string{"echo pulled > /tmp/pulled"}}}})

	// build-b joins and build-a drains: a sandbox of the template is made
	// on build-b, which fetches the layers, and sees the build's file and
	// environment.
	nb, bDir := joinRunningNode(t, c, bin, cp, "build-b", bListen, "10.247.42.0/24", s3Flags...)
	db := controlPlaneDriver(t, keys, "build-b", bListen)
	waitDial(t, db, nb)
	c.want(204, "POST", "/nodes/build-a", map[string]any{"status": "draining"}, nil)
	var sb sandboxJSON
	deadline = time.Now().Add(15 * time.Second)
	for {
		code, b, _ := c.do("POST", "/sandboxes", map[string]any{"templateID": "node-app", "timeout": 300})
		if code == 201 {
			if err := json.Unmarshal(b, &sb); err != nil {
				t.Fatal(err)
			}
			break
		}
		// Until build-b's heartbeat carries its service address.
		if code != 503 || time.Now().After(deadline) {
			t.Fatalf("create of the template with build-b ready = %d %s\nbuild-b:\n%s", code, b, nb.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if list, err := db.List(context.Background()); err != nil || len(list) != 1 || list[0].ID != sb.SandboxID {
		t.Fatalf("build-b runs %+v, %v; want %s", list, err, sb.SandboxID)
	}
	if out, code := sh(t, c, sb, "cat /home/user/marker /home/user/copied.txt; echo $FROM_NODE_BUILD"); code != 0 || out != "built-on-a-node\ncopied-through-the-bucket\nyes\n" {
		t.Errorf("the template's files and environment in the sandbox on build-b: %d %q", code, out)
	}
	c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
	for _, e := range es {
		if _, err := os.Stat(filepath.Join(bDir, "layers", e)); err != nil {
			t.Errorf("layer %s was not fetched by build-b: %v", e, err)
		}
	}

	// A failing step fails the build (on build-b now) with its output and
	// exit code.
	_, _, path = startBuild(t, c, "broken-app", "echo about-to-fail; exit 3")
	st := waitBuild(t, c, path)
	if st.Status != "error" || st.Reason == nil || !strings.Contains(st.Reason.Message, "exited with code 3") || !strings.Contains(st.Reason.Message, "about-to-fail") {
		t.Errorf("build with a failing step = %+v, want an error with the exit code and output", st)
	}
	if logs := buildLogs(t, c, path); !strings.Contains(logs, "about-to-fail") || !strings.Contains(logs, "building on node build-b") {
		t.Errorf("the failed build's log:\n%s", logs)
	}

	// Deleting a template while it builds cancels the build on its
	// node, whose build sandbox goes.
	_, _, path = startBuild(t, c, "cancelled-app", "echo step-running; sleep 300")
	waitLog := func(want string) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for !strings.Contains(buildLogs(t, c, path), want) {
			if time.Now().After(deadline) {
				t.Fatalf("the build's log never said %q:\n%s", want, buildLogs(t, c, path))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitLog("step-running")
	if list, err := db.List(context.Background()); err != nil || len(list) != 1 {
		t.Errorf("build-b runs %+v, %v during the build; want its build sandbox", list, err)
	}
	c.want(204, "DELETE", "/templates/cancelled-app", nil, nil)
	deadline = time.Now().Add(30 * time.Second)
	for {
		list, err := db.List(context.Background())
		if err == nil && len(list) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("build-b runs %+v, %v after the building template was deleted; want no build sandbox", list, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A team whose build minutes run out while its build runs on a node:
	// the build ends saying so, and its build sandbox goes.
	tm, teamKeys := newTeam(t, c, "node-builders", "developer")
	dev := teamKeys["developer"]
	pst, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	past := store.TemplateBuild{ID: "bldpast", TemplateID: "tplpast", Status: store.BuildWaiting, CPUCount: 1, MemoryMB: 512}
	err = pst.CreateTemplate(context.Background(), store.Template{ID: "tplpast", Names: []string{"past"}, Team: tm.TeamID, CPUCount: 1, MemoryMB: 512})
	if err == nil {
		err = pst.CreateBuild(context.Background(), past)
	}
	if err == nil {
		err = pst.StartBuild(context.Background(), past.TemplateID, past.ID, "{}", now.Add(-59*time.Minute-50*time.Second))
	}
	if err == nil {
		past.Status, past.Reason = store.BuildError, "step 1 failed"
		err = pst.FinishBuild(context.Background(), past, nil, now)
	}
	pst.Close()
	if err != nil {
		t.Fatal(err)
	}
	c.want(200, "PUT", "/admin/teams/"+tm.TeamID+"/quota", map[string]any{"buildMinutes": 60}, nil)
	code, body, path := startBuild(t, dev, "minutes-app", "echo step-running; sleep 6011")
	if code != 202 {
		t.Fatalf("a build with ten seconds left: %d %s", code, body)
	}
	if st := waitBuild(t, dev, path); st.Status != "error" || st.Reason == nil || !strings.Contains(st.Reason.Message, "team quota of 60 build minutes per 30 days used up") {
		t.Errorf("a build on a node past the build minutes ended %+v", st)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		list, err := db.List(context.Background())
		if err == nil && len(list) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("build-b runs %+v, %v after the build ran out of minutes; want no build sandbox", list, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// build-b killed while a step runs: the build fails naming it.
	_, _, path = startBuild(t, c, "cut-app", "echo step-running; sleep 300")
	waitLog("step-running")
	_ = nb.cmd.Process.Kill()
	err = <-nb.done
	nb.done <- err
	start := time.Now()
	st = waitBuild(t, c, path)
	if st.Status != "error" || st.Reason == nil || !strings.Contains(st.Reason.Message, "step 1 failed: node build-b was lost during the build") {
		t.Errorf("build whose node was killed = %+v, want an error naming the node", st)
	}
	t.Logf("build failed %v after its node was killed: %+v", time.Since(start), st.Reason)
	// Started again, build-b removes the build sandbox the killed run
	// left (its processes outlive the node's, as any sandbox's).
	if left, _ := filepath.Glob(filepath.Join(bDir, "runtime", "sandboxes", "build-*")); len(left) != 1 {
		t.Errorf("build sandboxes of the killed node: %v, want the one its build left", left)
	}
	nb = startNode(t, bin, append([]string{"--data-dir", bDir, "--listen", bListen, "--templates-dir", ocitest.TemplateCache(), "--agent", ocitest.AgentBinary(t),
		"--cgroup-parent", "soulbox-test-build-b", "--network-pool", "10.247.42.0/24", "--network-uplink", "lo", "--network-dns", "127.0.0.1"}, s3Flags...)...)
	t.Cleanup(func() {
		_ = nb.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-nb.done:
			nb.done <- err
		case <-time.After(15 * time.Second):
		}
	})
	waitDial(t, db, nb)
	if list, err := db.List(context.Background()); err != nil || len(list) != 0 {
		t.Errorf("build-b restarted runs %+v, %v; want the killed build's sandbox gone", list, err)
	}
}
