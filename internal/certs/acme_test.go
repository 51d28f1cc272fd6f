package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
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

// pebble is a Pebble on loopback: its directory URL, the certificate
// of its own HTTPS listener, and, once started, the root its issued
// certificates chain to.
type pebble struct {
	directory string
	tlsCert   string
	roots     *x509.CertPool
	stop      func()

	api, mgmt int
	dir, key  string
}

func newPebble(t *testing.T) *pebble {
	t.Helper()
	p := &pebble{api: freePort(t), mgmt: freePort(t), dir: t.TempDir()}
	p.tlsCert, p.key = writePair(t, p.dir, "pebble-", "localhost")
	p.directory = fmt.Sprintf("https://localhost:%d/dir", p.api)
	return p
}

// start runs Pebble. It validates tls-alpn-01 challenges for real: it
// resolves every name to 127.0.0.1 through the test's DNS server and
// connects to tlsPort there, where the listener under test answers.
func (p *pebble) start(t *testing.T, tlsPort int) {
	t.Helper()
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress":           fmt.Sprintf("127.0.0.1:%d", p.api),
		"managementListenAddress": fmt.Sprintf("127.0.0.1:%d", p.mgmt),
		"certificate":             p.tlsCert, "privateKey": p.key,
		"httpPort": freePort(t), "tlsPort": tlsPort,
		"externalAccountBindingRequired": false,
	}}
	b, _ := json.Marshal(conf)
	confFile := filepath.Join(p.dir, "pebble.json")
	if err := os.WriteFile(confFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pebbleBinary(t), "-config", confFile, "-dnsserver", loopbackDNS(t))
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	cmd.Stdout, cmd.Stderr = testWriter{t}, testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	p.stop = func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}
	t.Cleanup(p.stop)

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: poolOf(t, p.tlsCert)}}}
	var rootPEM []byte
	for deadline := time.Now().Add(30 * time.Second); ; {
		res, err := client.Get(fmt.Sprintf("https://localhost:%d/roots/0", p.mgmt))
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
}

// loopbackDNS answers every A query with 127.0.0.1 and every other with
// no records, over TCP (as Pebble asks), until the test ends: the names
// of the test exist nowhere else.
func loopbackDNS(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					var n uint16
					if err := binary.Read(c, binary.BigEndian, &n); err != nil {
						return
					}
					q := make([]byte, n)
					if _, err := io.ReadFull(c, q); err != nil {
						return
					}
					a := dnsAnswer(q)
					if a == nil {
						return
					}
					if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(a))), a...)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func dnsAnswer(query []byte) []byte {
	var parser dnsmessage.Parser
	h, err := parser.Start(query)
	if err != nil {
		return nil
	}
	q, err := parser.Question()
	if err != nil {
		return nil
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
	_ = b.StartQuestions()
	_ = b.Question(q)
	_ = b.StartAnswers()
	if q.Type == dnsmessage.TypeA {
		_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60},
			dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}})
	}
	msg, err := b.Finish()
	if err != nil {
		return nil
	}
	return msg
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
	p := newPebble(t)
	dir := t.TempDir()
	cfg := Config{Mode: ModeACME, ACMEDirectory: p.directory, ACMEEmail: "ops@sb.test", ACMECAFile: p.tlsCert}
	names := Names{Domain: "sb.test", Sandbox: func(_ context.Context, id string) bool { return id == "live" }}
	tc, err := New(cfg, dir, names, discard())
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, tc)
	_, port, _ := net.SplitHostPort(addr)
	tlsPort, _ := strconv.Atoi(port)
	p.start(t, tlsPort)
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
