package process

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/agent/state"
	"github.com/soulbox/soulbox/internal/agent/users"
	"github.com/soulbox/soulbox/internal/envd"
)

// envelope is one message of a Connect stream as it crossed the wire.
type envelope struct {
	compressed bool
	size       int
}

// startRaw runs cmd through the Start stream as the E2B SDKs call it,
// accepting gzip, and returns the stream's messages as sent.
func startRaw(t *testing.T, svc *Service, cmd string) []envelope {
	t.Helper()
	path, h := svc.Handler()
	mux := http.NewServeMux()
	mux.Handle(path, h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	msg := []byte(`{"process":{"cmd":"/bin/sh","args":["-c",` + quote(cmd) + `]},"stdin":false}`)
	body := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(body[1:], uint32(len(msg)))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+path+"Start", bytes.NewReader(append(body, msg...)))
	req.Header.Set("Content-Type", "application/connect+json")
	req.Header.Set("Connect-Protocol-Version", "1")
	req.Header.Set("Connect-Accept-Encoding", "gzip")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("root:")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("Start: %s %s", resp.Status, b)
	}
	if enc := resp.Header.Get("Connect-Content-Encoding"); enc != "gzip" {
		t.Fatalf("stream encoding %q, want gzip (the client accepts it)", enc)
	}
	var out []envelope
	for {
		var head [5]byte
		if _, err := io.ReadFull(resp.Body, head[:]); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		n := binary.BigEndian.Uint32(head[1:])
		if _, err := io.CopyN(io.Discard, resp.Body, int64(n)); err != nil {
			t.Fatal(err)
		}
		if head[0]&2 != 0 { // the end of the stream
			return out
		}
		out = append(out, envelope{compressed: head[0]&1 != 0, size: int(n)})
	}
}

func quote(s string) string {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// A short command's events (start, its few bytes of output, end) go out
// uncompressed even to a client that accepts gzip: compressing each of
// them cost the agent more CPU than anything else under many small
// commands at once. Bulk output is still compressed.
func TestSmallEventsAreNotCompressed(t *testing.T) {
	// One manager (and so one reaper of children) for the whole test.
	svc := NewService(newManager(t), state.New(map[string]string{"PATH": "/usr/bin:/bin"}, users.System), slog.New(slog.DiscardHandler))
	small := startRaw(t, svc, "echo hi")
	if len(small) < 3 {
		t.Fatalf("%d messages, want at least start, data and end", len(small))
	}
	for i, e := range small {
		if e.compressed {
			t.Errorf("message %d of echo hi (%d bytes) was compressed", i, e.size)
		}
	}
	bulk := startRaw(t, svc, "head -c 60000 /dev/zero | tr '\\0' a")
	compressed := false
	for _, e := range bulk {
		compressed = compressed || e.compressed
	}
	if !compressed {
		t.Errorf("none of %d messages of 60000 bytes of output was compressed, want the output (over %d bytes) compressed", len(bulk), envd.CompressMinBytes)
	}
}
