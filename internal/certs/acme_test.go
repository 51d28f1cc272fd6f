package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// pebbleVersion is the ACME test server the ACME tests run against,
// built from the Go module proxy on first use.
const pebbleVersion = "v2.10.3"

func pebbleBinary(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "soulbox-test", "pebble-"+pebbleVersion)
	bin := filepath.Join(dir, "pebble")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("building Pebble needs the go command")
	}
	cmd := exec.Command("go", "install", "github.com/letsencrypt/pebble/v2/cmd/pebble@"+pebbleVersion)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build pebble: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// pebble is a running Pebble: its directory URL, the certificate of its
// own HTTPS listener, and the root its issued certificates chain to.
type pebble struct {
	directory string
	tlsCert   string
	roots     *x509.CertPool
	stop      func()
}

// startPebble runs Pebble on loopback, validating every challenge without
// contacting the names (PEBBLE_VA_ALWAYS_VALID): the names of the test
// resolve nowhere.
func startPebble(t *testing.T) pebble {
	t.Helper()
	bin := pebbleBinary(t)
	dir := t.TempDir()
	cert, key := writePair(t, dir, "pebble-", "localhost")
	api, mgmt := freePort(t), freePort(t)
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress":           fmt.Sprintf("127.0.0.1:%d", api),
		"managementListenAddress": fmt.Sprintf("127.0.0.1:%d", mgmt),
		"certificate":             cert, "privateKey": key,
		"httpPort": freePort(t), "tlsPort": freePort(t),
		"externalAccountBindingRequired": false,
	}}
	b, _ := json.Marshal(conf)
	confFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(confFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", confFile)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	cmd.Stdout, cmd.Stderr = testWriter{t}, testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}
	t.Cleanup(stop)

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: poolOf(t, cert)}}}
	p := pebble{directory: fmt.Sprintf("https://localhost:%d/dir", api), tlsCert: cert, stop: stop}
	var rootPEM []byte
	for deadline := time.Now().Add(30 * time.Second); ; {
		res, err := client.Get(fmt.Sprintf("https://localhost:%d/roots/0", mgmt))
		if err == nil {
			rootPEM, _ = io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not come up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.roots = x509.NewCertPool()
	if !p.roots.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("pebble's root is not PEM: %q", rootPEM)
	}
	return p
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Logf("pebble: %s", b)
	return len(b), nil
}

func TestACMEAgainstPebble(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs Pebble")
	}
	p := startPebble(t)
	dir := t.TempDir()
	cfg := Config{Mode: ModeACME, ACMEDirectory: p.directory, ACMEEmail: "ops@sb.test", ACMECAFile: p.tlsCert}
	names := Names{Domain: "sb.test", Sandbox: func(_ context.Context, id string) bool { return id == "live" }}
	tc, err := New(cfg, dir, names, discard())
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, tc)
	for _, name := range []string{"api.sb.test", "sb.test", "8080-live.sb.test"} {
		leaf, err := handshake(addr, name, p.roots)
		if err != nil {
			t.Fatalf("handshake for %q with Pebble's root trusted: %v", name, err)
		}
		if !slices.Equal(leaf.DNSNames, []string{name}) {
			t.Errorf("certificate for %q names %v", name, leaf.DNSNames)
		}
	}
	for _, name := range []string{"8080-gone.sb.test", "example.com", "www.sb.test", ""} {
		if _, err := handshake(addr, name, p.roots); err == nil {
			t.Errorf("a certificate was issued for %q, not a name the server may ask for", name)
		}
	}

	// The certificates are kept: with the authority gone, a restart
	// serves them from the data dir.
	p.stop()
	tc2, err := New(cfg, dir, names, discard())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(serve(t, tc2), "8080-live.sb.test", p.roots); err != nil {
		t.Errorf("after a restart with the authority down: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "acme")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("acme cache: %v, want a 0700 directory", err)
	}
}
