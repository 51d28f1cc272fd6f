package interpreter

import (
	"io"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// chunked reads its data n bytes at a time, as a pipe may hand it over.
type chunked struct {
	data []byte
	n    int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := min(c.n, len(c.data), len(p))
	copy(p, c.data[:k])
	c.data = c.data[k:]
	return k, nil
}

func TestOutputStreamStripsMarkersAcrossReads(t *testing.T) {
	input := "héllo \x1e\x1fsoulbox-mark:7\x1f\x1eworld ✓\n\x1e not a marker \x1e\x1fsoulbox-nope\x1f\x1e end\x1e\x1fsoulbox-mark:12\x1f\x1e"
	want := "héllo world ✓\n\x1e not a marker \x1e\x1fsoulbox-nope\x1f\x1e end"
	for n := 1; n <= len(input); n++ {
		var mu sync.Mutex
		var got strings.Builder
		delivered := newProgress()
		delivered.close() // nothing to wait for here
		s := newOutputStream(func(text string) {
			mu.Lock()
			defer mu.Unlock()
			if !utf8.ValidString(text) {
				t.Errorf("chunk size %d: a character was split: %q", n, text)
			}
			got.WriteString(text)
		}, delivered)
		s.run(&chunked{data: []byte(input), n: n})
		if got.String() != want {
			t.Fatalf("chunk size %d: got %q, want %q", n, got.String(), want)
		}
		if s.passed.mark != 12 {
			t.Errorf("chunk size %d: mark %d, want 12", n, s.passed.mark)
		}
	}
}

// Text after a marker waits until the marker's event is delivered.
func TestOutputStreamWaitsForTheEvent(t *testing.T) {
	delivered := newProgress()
	pr, pw := io.Pipe()
	var mu sync.Mutex
	var got []string
	s := newOutputStream(func(text string) {
		mu.Lock()
		got = append(got, text)
		mu.Unlock()
	}, delivered)
	done := make(chan struct{})
	go func() {
		s.run(pr)
		close(done)
	}()
	_, _ = pw.Write([]byte("a\x1e\x1fsoulbox-mark:1\x1f\x1eb"))
	s.passed.wait(1, time.Second)
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	early := strings.Join(got, "")
	mu.Unlock()
	if early != "a" {
		t.Errorf("before the event: %q, want only %q", early, "a")
	}
	delivered.advance(1)
	_ = pw.Close()
	<-done
	if all := strings.Join(got, ""); all != "ab" {
		t.Errorf("after the event: %q", all)
	}
}
