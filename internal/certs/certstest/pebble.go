// Package certstest runs Pebble, Let's Encrypt's ACME test server, for
// tests of ACME certificates: on loopback, validating challenges for real
// against the listener under test, with every name resolved to loopback
// by a DNS server of its own. Nothing leaves the machine.
package certstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// pebbleVersion is the ACME test server the ACME tests run against,
// built from the Go module proxy on first use.
const pebbleVersion = "v2.10.3"

func pebbleBinary(t testing.TB) string {
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

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Pebble is an ACME test server on loopback.
type Pebble struct {
	// Directory is its ACME directory URL.
	Directory string
	// TLSCert is the PEM file its own HTTPS listener's certificate is in:
	// the roots an ACME client must trust (certs.Config.ACMECAFile).
	TLSCert string
	// Roots holds the root its issued certificates chain to, once
	// started.
	Roots *x509.CertPool

	stop      func()
	api, mgmt int
	dir, key  string
}

// NewPebble prepares a Pebble, built from the Go module proxy on first
// use: its directory URL and TLS certificate are known before Start.
func NewPebble(t testing.TB) *Pebble {
	t.Helper()
	p := &Pebble{api: freePort(t), mgmt: freePort(t), dir: t.TempDir()}
	p.TLSCert, p.key = writeSelfSigned(t, p.dir, "localhost")
	p.Directory = fmt.Sprintf("https://localhost:%d/dir", p.api)
	return p
}

// Start runs Pebble until Stop or the end of the test. It validates tls-alpn-01 challenges for real: it
// resolves every name to 127.0.0.1 through the test's DNS server and
// connects to tlsPort there, where the listener under test answers.
func (p *Pebble) Start(t testing.TB, tlsPort int) {
	t.Helper()
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress":           fmt.Sprintf("127.0.0.1:%d", p.api),
		"managementListenAddress": fmt.Sprintf("127.0.0.1:%d", p.mgmt),
		"certificate":             p.TLSCert, "privateKey": p.key,
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

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: poolOf(t, p.TLSCert)}}}
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
	p.Roots = x509.NewCertPool()
	if !p.Roots.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("pebble's root is not PEM: %q", rootPEM)
	}
}

// loopbackDNS answers every A query with 127.0.0.1 and every other with
// no records, over TCP (as Pebble asks), until the test ends: the names
// of the test exist nowhere else.
func loopbackDNS(t testing.TB) string {
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

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Logf("pebble: %s", b)
	return len(b), nil
}

// Stop kills Pebble.
func (p *Pebble) Stop() {
	if p.stop != nil {
		p.stop()
	}
}

func poolOf(t testing.TB, pemFile string) *x509.CertPool {
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

// writeSelfSigned writes a self-signed certificate for name and its key.
func writeSelfSigned(t testing.TB, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "pebble-cert.pem"), filepath.Join(dir, "pebble-key.pem")
	if err := errors.Join(
		os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644),
		os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
