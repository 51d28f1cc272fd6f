package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/certs"
	"github.com/soulbox/soulbox/internal/certs/certstest"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
)

// httpsClient trusts the CA in caFile and sends every connection to addr,
// whatever the URL's host, as a resolver pointing the domain at the
// server would: the URL's host is still the name the TLS handshake asks
// for and checks.
func httpsClient(t *testing.T, caFile, addr string) *http.Client {
	t.Helper()
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// The API and a sandbox host answer over HTTPS with the local authority's
// certificates, the sandbox host reaching a server inside a real sandbox.
func TestSelfSignedTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	cfg.Domain = "sb.test"
	cfg.TLS = certs.Config{Mode: certs.ModeSelfSigned}
	cfg.HTTPSListen = "127.0.0.1:0" // 443 in production
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, discardLogger())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	addr := srv.Addr()
	if srv.HTTPSAddr() == "" {
		t.Fatal("no second listener for sandbox hosts with TLS on")
	}
	hc := httpsClient(t, filepath.Join(cfg.DataDir, "tls", "ca.pem"), addr)

	do := func(method, url string, body any) (int, []byte) {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, url, r)
		req.Header.Set("X-API-Key", cfg.AdminKey)
		req.Header.Set("Content-Type", "application/json")
		res, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}

	// Plain HTTP to the TLS listener is refused.
	if res, err := http.Get("http://" + addr + "/health"); err == nil {
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP served by a TLS listener")
		}
	}
	// By address (no server name) and by name, the API answers.
	for _, base := range []string{"https://" + addr, "https://api.sb.test", "https://sb.test:443"} {
		if code, b := do("GET", base+"/health", nil); code != http.StatusOK {
			t.Fatalf("GET %s/health = %d %s", base, code, b)
		}
	}

	code, b := do("POST", "https://api.sb.test/sandboxes", map[string]any{"templateID": "base"})
	if code != http.StatusCreated {
		t.Fatalf("create over HTTPS = %d %s", code, b)
	}
	var sb struct {
		SandboxID string  `json:"sandboxID"`
		Domain    *string `json:"domain"`
	}
	_ = json.Unmarshal(b, &sb)
	t.Cleanup(func() { do("DELETE", "https://api.sb.test/sandboxes/"+sb.SandboxID, nil) })
	if sb.Domain == nil || *sb.Domain != "sb.test" {
		t.Errorf("create answered domain %v, want \"sb.test\": the SDKs build sandbox hosts from it", sb.Domain)
	}
	code, b = do("GET", "https://api.sb.test/sandboxes/"+sb.SandboxID, nil)
	if code != http.StatusOK || !strings.Contains(string(b), `"domain":"sb.test"`) {
		t.Errorf("GET /sandboxes/{id} = %d %s, want domain \"sb.test\"", code, b)
	}
	code, b = do("POST", "https://api.sb.test/sandboxes/"+sb.SandboxID+"/connect", map[string]any{"timeout": 300})
	if code != http.StatusOK || !strings.Contains(string(b), `"domain":"sb.test"`) {
		t.Errorf("connect = %d %s, want domain \"sb.test\"", code, b)
	}

	d, err := oci.New(oci.Config{Root: filepath.Join(cfg.DataDir, "runtime"), AgentPath: cfg.AgentPath, Templates: ocitest.Templates(t)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Exec(context.Background(), sb.SandboxID, runtime.ExecRequest{Args: []string{"sh", "-c",
		"mkdir -p /tmp/site && echo 'from the sandbox' > /tmp/site/index.html && cd /tmp/site && " +
			"setsid python3 -m http.server 8080 >/dev/null 2>&1 < /dev/null &"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("start a server in the sandbox: %+v %v", res, err)
	}
	host := "https://8080-" + sb.SandboxID + ".sb.test"
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, b = do("GET", host+"/index.html", nil)
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s/index.html = %d %s", host, code, b)
		}
	}
	if string(b) != "from the sandbox\n" {
		t.Errorf("GET %s/index.html = %q", host, b)
	}
	// The second listener serves the same routes.
	hc = httpsClient(t, filepath.Join(cfg.DataDir, "tls", "ca.pem"), srv.HTTPSAddr())
	if code, b = do("GET", host+"/index.html", nil); code != http.StatusOK || string(b) != "from the sandbox\n" {
		t.Errorf("GET %s/index.html on the 443 listener = %d %q", host, code, b)
	}
	if code, b = do("GET", "https://api.sb.test/sandboxes/"+sb.SandboxID, nil); code != http.StatusOK {
		t.Errorf("GET /sandboxes/{id} on the 443 listener = %d %s", code, b)
	}
}

// Bad TLS settings stop the start with an error saying what to fix, and
// leave nothing listening.
func TestTLSBadInput(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		tls  certs.Config
		want string
	}{
		{"certificate without key", certs.Config{CertFile: garbage}, "without its key"},
		{"unknown mode", certs.Config{Mode: "on"}, `tls mode "on"`},
		{"unreadable certificate", certs.Config{CertFile: missing, KeyFile: garbage}, "missing.pem"},
		{"not a certificate", certs.Config{CertFile: garbage, KeyFile: garbage}, "garbage.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Listen = freeAddr(t)
			cfg.TLS = tc.tls
			srv, err := server.New(context.Background(), cfg, discardLogger())
			if err == nil {
				t.Fatalf("New started with %+v", tc.tls)
			}
			if srv != nil {
				t.Error("New returned a server with its error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error saying %q", err, tc.want)
			}
			if c, err := net.DialTimeout("tcp", cfg.Listen, time.Second); err == nil {
				c.Close()
				t.Errorf("%s is listening after a failed start", cfg.Listen)
			}
		})
	}
}

// `soulbox server` with bad TLS flags exits non-zero with the reason.
func TestServerCommandTLSBadFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	cfg := testConfig(t)
	bin := buildServer(t, cfg.AgentPath)
	cert, key := filepath.Join(t.TempDir(), "cert.pem"), filepath.Join(t.TempDir(), "key.pem")
	writeKeyPair(t, cert, key)
	otherKey := filepath.Join(t.TempDir(), "k2.pem")
	writeKeyPair(t, filepath.Join(t.TempDir(), "c2.pem"), otherKey)
	for _, tc := range []struct {
		name  string
		flags []string
		want  string
	}{
		{"cert without key", []string{"--tls-cert", cert}, "add --tls-key"},
		{"unknown mode", []string{"--tls", "bogus"}, `tls mode "bogus"`},
		{"unreadable key", []string{"--tls-cert", cert, "--tls-key", "/nonexistent/key.pem"}, "/nonexistent/key.pem"},
		{"key of another certificate", []string{"--tls-cert", cert, "--tls-key", otherKey}, "does not match"},
		{"self-signed with files", []string{"--tls", "self-signed", "--tls-cert", cert, "--tls-key", key}, "takes no certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := freeAddr(t)
			args := append([]string{"server", "--listen", addr, "--data-dir", cfg.DataDir,
				"--templates-dir", cfg.TemplatesDir, "--agent", cfg.AgentPath, "--pool-max", "0", "--pool-min", "0"}, tc.flags...)
			cmd := exec.Command(bin, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(60 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("soulbox server kept running with bad TLS flags")
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("exit = %v, want a non-zero exit", err)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr = %q, want it to say %q", stderr.String(), tc.want)
			}
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				t.Errorf("%s is listening after a failed start", addr)
			}
		})
	}
}

// Plain HTTP on an address other hosts reach is allowed but warned about.
func TestPlainHTTPOffLoopbackWarns(t *testing.T) {
	for _, tc := range []struct {
		listen string
		warn   bool
	}{{"127.0.0.1:0", false}, {"0.0.0.0:0", true}} {
		cfg := testConfig(t)
		cfg.Listen = tc.listen
		var logs bytes.Buffer
		srv, err := server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = srv.Run(ctx) // closes what New opened
		if got := strings.Contains(logs.String(), "plain HTTP on a non-loopback address"); got != tc.warn {
			t.Errorf("listen %s: warned %v, want %v\n%s", tc.listen, got, tc.warn, logs.String())
		}
	}
}

// writeKeyPair writes a self-signed certificate for sb.test and its key.
func writeKeyPair(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "sb.test"},
		DNSNames: []string{"sb.test", "*.sb.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	if err := errors.Join(
		os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644),
		os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)); err != nil {
		t.Fatal(err)
	}
}

// With --tls=acme the server asks the ACME authority for the API host and
// for the hosts of sandboxes that exist, and for nothing else.
func TestACMETLS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Pebble and creates a real sandbox")
	}
	p := certstest.NewPebble(t)
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	cfg.Domain = "sb.test"
	cfg.HTTPSListen = "off"
	cfg.TLS = certs.Config{Mode: certs.ModeACME, ACMEDirectory: p.Directory, ACMECAFile: p.TLSCert, ACMEEmail: "ops@sb.test"}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, discardLogger())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	_, port, _ := net.SplitHostPort(srv.Addr())
	tlsPort, _ := strconv.Atoi(port)
	p.Start(t, tlsPort) // validates on the server's listener
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: p.Roots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, srv.Addr())
		},
	}}
	req, _ := http.NewRequest("POST", "https://api.sb.test/sandboxes", strings.NewReader(`{"templateID":"base"}`))
	req.Header.Set("X-API-Key", cfg.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		t.Fatalf("create over HTTPS with an ACME certificate: %v", err)
	}
	var sb struct {
		SandboxID string `json:"sandboxID"`
	}
	_ = json.NewDecoder(res.Body).Decode(&sb)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create = %d", res.StatusCode)
	}
	t.Cleanup(func() {
		req, _ := http.NewRequest("DELETE", "https://api.sb.test/sandboxes/"+sb.SandboxID, nil)
		req.Header.Set("X-API-Key", cfg.AdminKey)
		if res, err := hc.Do(req); err == nil {
			res.Body.Close()
		}
	})
	// A port without a listener: the proxy answers, over a certificate
	// issued for this sandbox's host.
	res, err = hc.Get("https://8080-" + sb.SandboxID + ".sb.test/")
	if err != nil {
		t.Fatalf("sandbox host of a live sandbox: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadGateway {
		t.Errorf("closed port = %d, want 502", res.StatusCode)
	}
	if res, err := hc.Get("https://8080-nosuchsandbox.sb.test/"); err == nil {
		res.Body.Close()
		t.Error("a certificate was issued for the host of a sandbox that does not exist")
	}
}
