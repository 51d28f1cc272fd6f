package certs

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" for valid
	}{
		{"off by default", Config{}, ""},
		{"off", Config{Mode: "off"}, ""},
		{"files", Config{CertFile: "c.pem", KeyFile: "k.pem"}, ""},
		{"self-signed", Config{Mode: "self-signed"}, ""},
		{"acme", Config{Mode: "acme", ACMEDirectory: "https://acme.test/dir", ACMEEmail: "a@b.test"}, ""},
		{"cert without key", Config{CertFile: "c.pem"}, "without its key"},
		{"key without cert", Config{KeyFile: "k.pem"}, "without a certificate"},
		{"unknown mode", Config{Mode: "letsencrypt"}, `tls mode "letsencrypt"`},
		{"self-signed with files", Config{Mode: "self-signed", CertFile: "c.pem", KeyFile: "k.pem"}, "takes no certificate"},
		{"acme over http", Config{Mode: "acme", ACMEDirectory: "http://acme.test/dir"}, "want an https:// URL"},
		{"acme settings without acme", Config{ACMEEmail: "a@b.test"}, "need --tls=acme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate = %v, want an error saying %q", err, tc.want)
			case tc.want != "" && !errors.Is(err, errdefs.ErrInvalidArgument):
				t.Fatalf("Validate = %v, not an invalid argument", err)
			}
		})
	}
}

// serve runs a TLS listener with tc that answers "ok" to whatever
// connects, until the test ends.
func serve(t *testing.T, tc *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", tc)
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
				if err := c.(*tls.Conn).Handshake(); err != nil {
					t.Logf("server handshake: %v", err)
				}
				_, _ = io.WriteString(c, "ok")
			}()
		}
	}()
	return ln.Addr().String()
}

// handshake connects to addr as a client trusting roots and asking for
// name ("" sends no server name and checks the address instead).
func handshake(addr, name string, roots *x509.CertPool) (*x509.Certificate, error) {
	cfg := &tls.Config{RootCAs: roots, ServerName: name}
	if name == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(addr)
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "ok" {
		return nil, errors.Join(err, errors.New("no answer after the handshake"))
	}
	return c.ConnectionState().PeerCertificates[0], nil
}

func poolOf(t *testing.T, pemFile string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(pemFile)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no certificate", pemFile)
	}
	return p
}

func TestSelfSigned(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	names := Names{Domain: "sb.test"}
	tc, err := New(Config{Mode: ModeSelfSigned}, dir, names, discard())
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if fi, err := os.Stat(filepath.Join(dir, "ca.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ca.key: %v, mode %v; want a 0600 file", err, fi.Mode())
	}
	roots := poolOf(t, caFile)
	addr := serve(t, tc)
	for _, name := range []string{"sb.test", "api.sb.test", "8080-abc123.sb.test", "49983-abc123.sb.test", "localhost", ""} {
		leaf, err := handshake(addr, name, roots)
		if err != nil {
			t.Errorf("handshake for %q with the local authority trusted: %v", name, err)
			continue
		}
		if name != "" && (len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != name) {
			t.Errorf("certificate for %q names %v", name, leaf.DNSNames)
		}
	}
	for _, name := range []string{"example.com", "a.b.sb.test", "sb.test.evil"} {
		if _, err := handshake(addr, name, roots); err == nil {
			t.Errorf("handshake for %q, not a name of the server, succeeded", name)
		}
	}
	if _, err := handshake(addr, "api.sb.test", x509.NewCertPool()); err == nil {
		t.Error("a client that does not trust the local authority accepted its certificate")
	}

	// A restart keeps the authority: clients that trust it still do.
	before, _ := os.ReadFile(caFile)
	tc2, err := New(Config{Mode: ModeSelfSigned}, dir, names, discard())
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(caFile)
	if string(before) != string(after) {
		t.Error("a restart replaced the local authority")
	}
	if _, err := handshake(serve(t, tc2), "8080-abc123.sb.test", roots); err != nil {
		t.Errorf("after a restart: %v", err)
	}
}

func TestSelfSignedRefusesABrokenAuthority(t *testing.T) {
	dir := t.TempDir()
	if _, err := New(Config{Mode: ModeSelfSigned}, dir, Names{Domain: "sb.test"}, discard()); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "ca.key")); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{Mode: ModeSelfSigned}, dir, Names{Domain: "sb.test"}, discard())
	if err == nil || !strings.Contains(err.Error(), "ca.key") {
		t.Fatalf("New with the authority's key gone = %v, want an error naming ca.key", err)
	}
}

// writePair writes a self-signed certificate for names and its key.
func writePair(t *testing.T, dir, prefix string, names ...string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, prefix+"cert.pem"), filepath.Join(dir, prefix+"key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	cert, key := writePair(t, dir, "", "*.sb.test", "sb.test")
	tc, err := New(Config{CertFile: cert, KeyFile: key}, t.TempDir(), Names{Domain: "sb.test"}, discard())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(serve(t, tc), "8080-abc.sb.test", poolOf(t, cert)); err != nil {
		t.Fatalf("handshake with the given certificate: %v", err)
	}

	_, otherKey := writePair(t, dir, "other-", "sb.test")
	empty := filepath.Join(dir, "empty.pem")
	_ = os.WriteFile(empty, nil, 0o644)
	for _, tc := range []struct {
		name      string
		cert, key string
		wantInMsg string
	}{
		{"missing certificate", filepath.Join(dir, "nope.pem"), key, "nope.pem"},
		{"missing key", cert, filepath.Join(dir, "nope-key.pem"), "nope-key.pem"},
		{"unreadable key (a directory)", cert, dir, dir},
		{"key of another certificate", cert, otherKey, "does not match"},
		{"empty certificate", empty, key, "empty.pem"},
		{"certificate as key", cert, cert, "key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{CertFile: tc.cert, KeyFile: tc.key}, t.TempDir(), Names{Domain: "sb.test"}, discard())
			if err == nil || !strings.Contains(err.Error(), tc.wantInMsg) || !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("New = %v, want an invalid argument naming %q", err, tc.wantInMsg)
			}
		})
	}
}

func TestNamesCheck(t *testing.T) {
	n := Names{Domain: "SB.test.", Sandbox: func(_ context.Context, id string) bool { return id == "live" }}
	for _, tc := range []struct {
		name   string
		strict bool
		ok     bool
	}{
		{"sb.test", true, true},
		{"API.sb.test", true, true},
		{"8080-live.sb.test", true, true},
		{"8080-gone.sb.test", true, false},
		{"8080-gone.sb.test", false, true},
		{"www.sb.test", false, false},
		{"x-live.sb.test", false, false},
		{"8080-live.other.test", false, false},
		{"8080-live.a.sb.test", false, false},
		{"sb.test.evil", false, false},
		{"0-live.sb.test", false, false},
		{"65536-live.sb.test", false, false},
		{"08080-live.sb.test", false, false},
		{"99999999999999999999-live.sb.test", false, false},
		{"65535-live.sb.test", true, true},
	} {
		_, err := n.check(context.Background(), tc.name, tc.strict)
		if (err == nil) != tc.ok {
			t.Errorf("check(%q, strict %v) = %v, want ok %v", tc.name, tc.strict, err, tc.ok)
		}
	}
}

// Names a client makes up cost memory only up to a bound.
func TestSelfSignedCacheIsBounded(t *testing.T) {
	ca, err := openLocalCA(t.TempDir(), Names{Domain: "sb.test"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := range maxLeaves + 10 {
		name := fmt.Sprintf("%d-made-up.sb.test", i+1)
		c, err := ca.getCertificate(&tls.ClientHelloInfo{ServerName: name, Conn: conn})
		if err != nil || c.Leaf.DNSNames[0] != name {
			t.Fatalf("certificate for %s: %v", name, err)
		}
	}
	if n := len(ca.leaves); n > maxLeaves {
		t.Errorf("%d certificates kept, want at most %d", n, maxLeaves)
	}
}

// A renewed certificate written over the files is served without a
// restart; a renewal that does not load leaves the previous one served.
func TestFilesReload(t *testing.T) {
	defer func(d time.Duration) { reloadEvery = d }(reloadEvery)
	reloadEvery = 0
	dir := t.TempDir()
	cert, key := writePair(t, dir, "", "*.sb.test", "sb.test")
	tc, err := New(Config{CertFile: cert, KeyFile: key}, t.TempDir(), Names{Domain: "sb.test"}, discard())
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, tc)
	first, err := handshake(addr, "api.sb.test", poolOf(t, cert))
	if err != nil {
		t.Fatal(err)
	}

	renewed := t.TempDir()
	rcert, rkey := writePair(t, renewed, "", "*.sb.test", "sb.test")
	for _, f := range [][2]string{{rcert, cert}, {rkey, key}} {
		b, _ := os.ReadFile(f[0])
		if err := os.WriteFile(f[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	second, err := handshake(addr, "api.sb.test", poolOf(t, cert))
	if err != nil {
		t.Fatalf("after the renewal: %v", err)
	}
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("the renewed certificate is not served")
	}

	// A half-written renewal: the key of another certificate.
	_, otherKey := writePair(t, renewed, "other-", "sb.test")
	b, _ := os.ReadFile(otherKey)
	if err := os.WriteFile(key, b, 0o600); err != nil {
		t.Fatal(err)
	}
	third, err := handshake(addr, "api.sb.test", poolOf(t, cert))
	if err != nil || third.SerialNumber.Cmp(second.SerialNumber) != 0 {
		t.Fatalf("after a broken renewal: %v, serial %v; want the previous certificate", err, third)
	}
}

// A client that sends an address as the server name (RFC 6066 forbids
// it; some do) gets a certificate for the address it reached, whatever
// address it sent.
func TestSelfSignedAddressAsName(t *testing.T) {
	ca, err := openLocalCA(t.TempDir(), Names{Domain: "sb.test"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, sent := range []string{"127.0.0.1", "10.9.8.7"} {
		c, err := ca.getCertificate(&tls.ClientHelloInfo{ServerName: sent, Conn: conn})
		if err != nil {
			t.Fatalf("server name %s: %v", sent, err)
		}
		if ips := c.Leaf.IPAddresses; len(ips) != 1 || !ips[0].Equal(net.IPv4(127, 0, 0, 1)) || len(c.Leaf.DNSNames) != 0 {
			t.Errorf("server name %s: certificate for %v %v, want 127.0.0.1 only", sent, ips, c.Leaf.DNSNames)
		}
	}
}

func TestACMERefusesLocalhost(t *testing.T) {
	for _, d := range []string{"localhost", "sb.localhost"} {
		_, err := New(Config{Mode: ModeACME, ACMEDirectory: "https://acme.test/dir"}, t.TempDir(), Names{Domain: d}, discard())
		if err == nil || !strings.Contains(err.Error(), "--domain") || !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("acme for domain %s: %v, want an invalid argument asking for --domain", d, err)
		}
	}
}

// The local authority is constrained to the server's names: a leaf it
// signed for any other name is refused by clients that trust it, so its
// key cannot vouch for another site.
func TestLocalCANameConstraints(t *testing.T) {
	dir := t.TempDir()
	ca, err := openLocalCA(dir, Names{Domain: "sb.test"})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	for name, ok := range map[string]bool{"sb.test": true, "8080-x.sb.test": true, "localhost": true, "example.com": false, "sb.test.evil": false} {
		c, err := ca.sign(name)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots})
		if (err == nil) != ok {
			t.Errorf("leaf for %q: verify = %v, want ok %v", name, err, ok)
		}
	}
	// Another domain for the same authority is refused at start, saying
	// what to do.
	if _, err := openLocalCA(dir, Names{Domain: "other.test"}); err == nil || !strings.Contains(err.Error(), "aside") {
		t.Errorf("an authority for sb.test opened for other.test: %v", err)
	}
}
