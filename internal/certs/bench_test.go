package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"testing"
)

// BenchmarkSelfSignedHandshake measures a full TLS handshake with the
// local authority, for a name seen before and for a new sandbox host
// (which signs a certificate first).
func BenchmarkSelfSignedHandshake(b *testing.B) {
	dir := b.TempDir()
	tc, err := New(Config{Mode: ModeSelfSigned}, dir, Names{Domain: "sb.test"}, discard())
	if err != nil {
		b.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", tc)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	roots := x509.NewCertPool()
	ca, err := openLocalCA(dir, Names{Domain: "sb.test"})
	if err != nil {
		b.Fatal(err)
	}
	roots.AddCert(ca.cert)
	dial := func(name string) {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: name})
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	b.Run("known name", func(b *testing.B) {
		for range b.N {
			dial("api.sb.test")
		}
	})
	n := 0
	b.Run("new sandbox host", func(b *testing.B) {
		for range b.N {
			n++ // every run of b.N asks for names never seen
			dial(fmt.Sprintf("%d-bench.sb.test", n))
		}
	})
}
