package network

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestPeekHost reads the Host of a request head that arrives in pieces,
// and leaves every byte for the upstream.
func TestPeekHost(t *testing.T) {
	head := "GET / HTTP/1.1\r\nHost: Example.test:8080\r\nUser-Agent: x\r\n\r\nbody"
	c, s := net.Pipe()
	go func() {
		for _, part := range []string{head[:10], head[10:30], head[30:]} {
			c.Write([]byte(part))
			time.Sleep(10 * time.Millisecond)
		}
		c.Close()
	}()
	br := bufio.NewReaderSize(s, maxPeek)
	host, err := peekHost(br)
	if err != nil || host != "Example.test" {
		t.Fatalf("host %q, %v", host, err)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != head {
		t.Fatalf("left %q, want the whole head and body", rest)
	}
	if _, err := peekHost(bufio.NewReaderSize(strings.NewReader(strings.Repeat("x", maxPeek+10)), maxPeek)); err == nil {
		t.Fatal("a head longer than the peek limit was accepted")
	}
}

// TestPeekServerName reads the server name of a real ClientHello.
func TestPeekServerName(t *testing.T) {
	c, s := net.Pipe()
	go func() {
		tc := tls.Client(c, &tls.Config{ServerName: "api.wild.test"})
		_ = tc.Handshake() // fails when the pipe closes
	}()
	defer s.Close()
	name, err := peekServerName(bufio.NewReaderSize(s, maxPeek))
	if err != nil || name != "api.wild.test" {
		t.Fatalf("name %q, %v", name, err)
	}
	if _, err := peekServerName(bufio.NewReaderSize(strings.NewReader("GET / HTTP/1.1\r\n\r\n"), maxPeek)); err == nil {
		t.Fatal("plain HTTP taken for TLS")
	}
}
