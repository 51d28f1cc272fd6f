package remotedriver_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// A sandbox that answers and closes its connection ends the client's
// reading with EOF, and nothing stays behind for it.
func TestDialSandboxCloseIsEOF(t *testing.T) {
	h := newHost()
	h.sandboxServer(t, "sb", func(c net.Conn) { c.Write([]byte("hello")); c.Close() })
	d := startNode(t, h)
	ctx := context.Background()
	dial := func() {
		c, err := d.DialContext(ctx, "sb", 80)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var got []byte
		if err := within(t, "read to EOF", func() (err error) { got, err = io.ReadAll(c); return err }); err != nil || string(got) != "hello" {
			t.Fatalf("read %q, %v; want hello and EOF", got, err)
		}
	}
	dial()
	before := runtime.NumGoroutine()
	for range 50 {
		dial()
	}
	n := runtime.NumGoroutine()
	for i := 0; i < 100 && n > before+5; i++ {
		time.Sleep(50 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	if n > before+5 {
		t.Fatalf("%d goroutines after 50 dials, %d before", n, before)
	}
}

// A read deadline fails the read it passes and nothing else: moved, the
// connection reads on, and writes were never bound by it.
func TestDialReadDeadlineMoves(t *testing.T) {
	h := newHost()
	h.sandboxServer(t, "echo", func(c net.Conn) { io.Copy(c, c); c.Close() })
	d := startNode(t, h)
	c, err := d.DialContext(context.Background(), "echo", 80)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	buf := make([]byte, 16)
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v", err)
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatalf("write after a read deadline passed: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	var n int
	if err := within(t, "read after the deadline moved", func() (err error) { n, err = io.ReadAtLeast(c, buf, 4); return err }); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("read %q, %v; want ping", buf[:n], err)
	}
}
