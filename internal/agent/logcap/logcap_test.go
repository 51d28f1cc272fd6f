package logcap

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The agent's log, opened as the runtime opens it (append-only), stays
// under the cap however much is written, and keeps the newest lines.
func TestWriterCapsAppendOnlyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.log")
	// What the runtime wrote before the agent started.
	if err := os.WriteFile(path, []byte("runc: starting container\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const limit, keep = 64 << 10, 16 << 10
	w := New(f, limit, keep)
	var last string
	for i := range 20000 { // ~1.2 MB of lines
		last = fmt.Sprintf(`{"level":"INFO","msg":"request","n":%d}`+"\n", i)
		if _, err := w.Write([]byte(last)); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(path); st.Size() > limit {
			t.Fatalf("after line %d the log is %d bytes, over the cap of %d", i, st.Size(), limit)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b, []byte(last)) {
		t.Errorf("the newest line is missing; log ends %q", b[max(0, len(b)-200):])
	}
	if !strings.HasPrefix(string(b), "[soulbox-agent: log truncated") {
		t.Errorf("the log does not say it was truncated: starts %q", b[:min(len(b), 100)])
	}
	// The kept tail starts at a line and holds at least keep/2 bytes of them.
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, `{"level"`) {
			t.Fatalf("torn line after the marker: %q", l)
		}
	}
	if len(b) < keep/2 {
		t.Errorf("only %d bytes kept", len(b))
	}
}

// A log that is not a regular file (the agent run by hand on a terminal or
// pipe) is written through unchanged.
func TestWriterPassesPipesThrough(t *testing.T) {
	r, wf, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w := New(wf, 10, 4)
	go func() {
		w.Write([]byte("0123456789abcdef\n"))
		wf.Close()
	}()
	var got bytes.Buffer
	got.ReadFrom(r)
	if got.String() != "0123456789abcdef\n" {
		t.Errorf("pipe got %q", got.String())
	}
}
