package compat

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/objstore/s3test"
	"github.com/soulbox/soulbox/internal/remotedriver"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store/postgres/pgtest"
)

// TestE2BSDKBuildOnNodes drives E2B's Template builder, unchanged,
// against `soulbox server --embedded-node=off` on PostgreSQL with object
// storage (versitygw) and two `soulbox node` processes sharing the
// bucket: a template with ENV, RUN and COPY builds on a node (the log
// names it and carries the step's output), a sandbox of it has the
// files, and a failing step is the SDK's BuildError with its output.
func TestE2BSDKBuildOnNodes(t *testing.T) {
	requireNode(t)
	bin := filepath.Join(t.TempDir(), "soulbox")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/soulbox/soulbox/cmd/soulbox").CombinedOutput(); err != nil {
		t.Fatalf("build soulbox: %v\n%s", err, out)
	}
	pg := pgtest.Start(t)
	s3 := s3test.Start(t, "soulbox")
	secret := filepath.Join(t.TempDir(), "s3-secret")
	if err := os.WriteFile(secret, []byte(s3test.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s3Flags := []string{"--s3-endpoint", s3.Endpoint, "--s3-bucket", "soulbox", "--s3-access-key", s3test.AccessKey, "--s3-secret-key-file", secret}
	keys := t.TempDir()
	admin, _, _ := auth.Generate()
	url, nodes := "http://"+freeLocalAddr(t), freeLocalAddr(t)
	db := pg.NewDatabase(t)
	cp := startProc(t, "control-plane", bin, []string{"SOULBOX_STORE=" + db, "SOULBOX_ADMIN_KEY=" + admin}, append([]string{"server",
		"--embedded-node=off", "--keys-dir", keys, "--data-dir", ocitest.Root(t), "--listen", strings.TrimPrefix(url, "http://"),
		"--node-listen", nodes, "--node-heartbeat-timeout", "3s", "--pool-max", "0", "--pool-min", "0",
		"--templates-dir", ocitest.TemplateCache(), "--agent", ocitest.AgentBinary(t)}, s3Flags...)...)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the control plane does not answer: %v\n%s", err, cp.out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	ca, err := nodeca.Open(filepath.Join(keys, "node-ca"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ControlPlaneClient()
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"node-b1", "node-b2"} {
		var tok struct{ Token string }
		bs, _ := json.Marshal(map[string]any{"ttl": 600})
		req, _ := http.NewRequest("POST", url+"/admin/node-tokens", bytes.NewReader(bs))
		req.Header.Set("X-API-Key", admin)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(resp.Body).Decode(&tok)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("node token: %d", resp.StatusCode)
		}
		listen := freeLocalAddr(t)
		startProc(t, name, bin, nil, append([]string{"node", "--control-plane", "https://" + nodes,
			"--join-token", tok.Token, "--data-dir", ocitest.Root(t), "--name", name, "--listen", listen,
			"--templates-dir", ocitest.TemplateCache(), "--agent", ocitest.AgentBinary(t), "--cgroup-parent", "soulbox-compat-" + name,
			"--network-pool", "10.246." + []string{"51", "52"}[i] + ".0/24", "--network-uplink", "lo", "--network-dns", "127.0.0.1"}, s3Flags...)...)
		d, err := remotedriver.New(remotedriver.Config{Node: name, Addr: listen, ClientCert: cert, CA: ca.Pool()})
		if err != nil {
			t.Fatal(err)
		}
		waitNodeJoined(t, db, "", true, name, d)
	}

	env := []string{"E2B_API_URL=" + url, "E2B_SANDBOX_URL=" + url, "E2B_API_KEY=" + admin, "E2B_DOMAIN=localhost"}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("node", append([]string{"node_builds.mjs"}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("node node_builds.mjs %v: %v\n%s", args, err, out.String())
		}
		t.Logf("node_builds.mjs %v: %v", args, time.Since(start).Round(time.Millisecond))
	}
	run("build", "sdk-node-app")
	run("fail", "sdk-broken-app")
}
