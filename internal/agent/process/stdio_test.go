package process

import (
	"os"
	"testing"
	"time"
)

// Output already in the pipe when the read deadline has passed is still
// emitted, and the read does not wait for more while a writer (a
// background child) keeps the pipe open.
func TestReadOutputDrainsAfterDeadline(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close() // held open, as a background child would
	if _, err := w.Write([]byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	if err := r.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	var got []byte
	done := make(chan struct{})
	go func() {
		defer close(done)
		readOutput(r, func(b []byte) { got = append(got, b...) })
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("readOutput waited for more output")
	}
	if string(got) != "hi\n" {
		t.Errorf("emitted %q, want the output written before the deadline", got)
	}
}
