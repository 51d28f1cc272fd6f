package remotedriver_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/runtime"
)

// encodings records, per call of the node's service, how the control
// plane asked its answer to be compressed and how the node compressed it.
type encodings struct {
	mu    sync.Mutex
	calls map[string][2]string // method: accepted, used
}

func (e *encodings) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		accept := r.Header.Get("Connect-Accept-Encoding") + r.Header.Get("Accept-Encoding")
		used := w.Header().Get("Connect-Content-Encoding") + w.Header().Get("Content-Encoding")
		e.mu.Lock()
		defer e.mu.Unlock()
		e.calls[r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]] = [2]string{accept, used}
	})
}

func (e *encodings) seen(method string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.calls[method]
	return ok
}

func (e *encodings) of(method string) (accepted, used string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.calls[method]
	return c[0], c[1]
}

// A Dial stream carries a sandbox's bytes uncompressed, however well they
// would compress: gzip on every frame cost the node a tenth of its CPU
// under commands.run load. The node's other answers are compressed when
// they are large, not when they are small.
func TestDialFramesAreNotCompressed(t *testing.T) {
	h := newHost()
	text := bytes.Repeat([]byte("compressible "), 1<<14)
	h.sandboxServer(t, "sb", func(c net.Conn) { c.Write(text); c.Close() })
	h.execOut = func(req runtime.ExecRequest) int { req.Stdout.Write(text); return 0 }
	enc := &encodings{calls: map[string][2]string{}}
	d := startNodeWrapped(t, h, enc.wrap)
	ctx := context.Background()

	c, err := d.DialContext(ctx, "sb", 80)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := within(t, "read the sandbox's bytes", func() (err error) { got, err = io.ReadAll(c); return err }); err != nil || !bytes.Equal(got, text) {
		t.Fatalf("read %d bytes, %v; want the %d the sandbox sent", len(got), err, len(text))
	}
	c.Close()
	var out bytes.Buffer
	if _, err := d.Exec(ctx, "sb", runtime.ExecRequest{Args: []string{"cat"}, Stdout: &out}); err != nil || !bytes.Equal(out.Bytes(), text) {
		t.Fatalf("exec: %d bytes, %v", out.Len(), err)
	}
	if _, err := d.Info(ctx, "sb"); err != nil {
		t.Fatal(err)
	}

	// The Dial handler is recorded once it returns, which can be just
	// after the client read the end of its stream.
	for deadline := time.Now().Add(10 * time.Second); !enc.seen("Dial"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the node's Dial handler never returned")
		}
	}
	if accepted, used := enc.of("Dial"); strings.Contains(accepted, "gzip") || used != "" {
		t.Errorf("Dial: the control plane accepts %q, the node used %q; want neither gzip", accepted, used)
	}
	if accepted, used := enc.of("Exec"); !strings.Contains(accepted, "gzip") || used != "gzip" {
		t.Errorf("Exec of %d bytes: accepted %q, used %q; want gzip", len(text), accepted, used)
	}
	if accepted, used := enc.of("Info"); !strings.Contains(accepted, "gzip") || used != "" {
		t.Errorf("Info: accepted %q, used %q; want gzip accepted and not used for a small answer", accepted, used)
	}
}
