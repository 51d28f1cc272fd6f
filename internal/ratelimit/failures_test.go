package ratelimit

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

func from(addr string) *http.Request {
	r := httptest.NewRequest("GET", "/sandboxes", nil)
	r.RemoteAddr = addr
	return r
}

// TestFailuresGate: an address past its refusals is answered 429 with
// Retry-After until its window ends; other addresses are not.
func TestFailuresGate(t *testing.T) {
	now := time.Unix(1000, 0)
	f := NewFailures(3, time.Minute, 16)
	f.now = func() time.Time { return now }
	a := from("10.0.0.1:5555")
	for i := range 3 {
		w := httptest.NewRecorder()
		if !f.Gate(w, a) {
			t.Fatalf("refusal %d gated: %d %s", i, w.Code, w.Body)
		}
		f.Fail(a)
	}
	w := httptest.NewRecorder()
	if f.Gate(w, a) || w.Code != 429 || w.Header().Get("Retry-After") != "60" || !strings.Contains(w.Body.String(), "too many refused credentials from 10.0.0.1") {
		t.Errorf("fourth: %d %v %s, want 429 with Retry-After 60", w.Code, w.Header(), w.Body)
	}
	if !f.Gate(httptest.NewRecorder(), from("10.0.0.2:1")) {
		t.Error("another address gated")
	}
	// Another port of the same host is the same address.
	if f.Gate(httptest.NewRecorder(), from("10.0.0.1:6666")) {
		t.Error("another port of a gated address let through")
	}
	now = now.Add(time.Minute)
	if !f.Gate(httptest.NewRecorder(), a) {
		t.Error("still gated after the window")
	}
}

// TestFailuresCollapse: the first refusal of a window is to be recorded,
// the others come back as one count when the window ends, when the
// address is evicted, or at Flush.
func TestFailuresCollapse(t *testing.T) {
	now := time.Unix(1000, 0)
	f := NewFailures(100, time.Minute, 2)
	f.now = func() time.Time { return now }
	a, b, c := from("10.0.0.1:1"), from("10.0.0.2:1"), from("10.0.0.3:1")
	if first, ended := f.Fail(a); !first || ended != nil {
		t.Fatalf("first refusal: %v %v", first, ended)
	}
	for range 4 {
		if first, _ := f.Fail(a); first {
			t.Fatal("a repeat counted as first")
		}
	}
	f.Gate(httptest.NewRecorder(), a) // not gated: no count
	now = now.Add(10 * time.Second)
	f.Fail(b)
	f.Fail(b)
	// A third address evicts the oldest window, a's, with its count.
	first, ended := f.Fail(c)
	if !first || len(ended) != 1 || ended[0].Remote != "10.0.0.1" || ended[0].Count != 4 {
		t.Fatalf("eviction: %v %+v, want a's 4 repeats", first, ended)
	}
	// b's window ends with the clock.
	now = now.Add(time.Minute)
	first, ended = f.Fail(a)
	if !first || len(ended) != 1 || ended[0].Remote != "10.0.0.2" || ended[0].Count != 1 {
		t.Fatalf("window end: %v %+v, want b's 1 repeat", first, ended)
	}
	f.Fail(a)
	if got := f.Flush(); len(got) != 1 || got[0].Remote != "10.0.0.1" || got[0].Count != 1 {
		t.Errorf("flush: %+v", got)
	}
	if got := f.Flush(); len(got) != 0 {
		t.Errorf("second flush: %+v", got)
	}
	if len(f.m) > 2 {
		t.Errorf("%d addresses tracked, bound 2", len(f.m))
	}
}

// TestClassOf: creates, resumes and connects are counted as creates;
// everything else as calls.
func TestClassOf(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         Class
	}{
		{"POST", "/sandboxes", Creates},
		{"POST", "/v2/sandboxes", Creates},
		{"POST", "/sandboxes/sb1/resume", Creates},
		{"POST", "/sandboxes/sb1/connect", Creates},
		{"POST", "/v2/sandboxes/sb1/connect", Creates},
		{"POST", "/sandboxes/sb1/pause", Calls},
		{"POST", "/sandboxes//connect", Calls},
		{"GET", "/sandboxes/sb1/connect", Calls},
		{"GET", "/sandboxes", Calls},
		{"DELETE", "/sandboxes/sb1", Calls},
	} {
		if got := ClassOf(httptest.NewRequest(tc.method, tc.path, nil)); got != tc.want {
			t.Errorf("%s %s: %v, want %v", tc.method, tc.path, got, tc.want)
		}
	}
}

// TestBucketsForgotten: buckets of keys that stopped calling are
// forgotten once there are many, without changing any answer.
func TestBucketsForgotten(t *testing.T) {
	now := time.Unix(1000, 0)
	l := New(Config{CallsPerKey: 60})
	l.now = func() time.Time { return now }
	for i := range sweepAt {
		if err := l.Allow(Calls, store.APIKey{ID: fmt.Sprint("k", i)}); err != nil {
			t.Fatal(err)
		}
	}
	busy := store.APIKey{ID: "busy", Prefix: "e2b_busy"}
	for range 6 {
		_ = l.Allow(Calls, busy)
	}
	if err := l.Allow(Calls, busy); err == nil {
		t.Fatal("the busy key's bucket was not empty")
	}
	now = now.Add(2 * time.Second) // every other bucket is full again; busy's has 2 of 6
	_ = l.Allow(Calls, store.APIKey{ID: "new"})
	if _, kept := l.buckets[bucketKey{Calls, false, "busy"}]; len(l.buckets) != 2 || !kept {
		t.Errorf("%d buckets kept (busy's: %v), want the full ones forgotten and busy's kept", len(l.buckets), kept)
	}
	for range 2 {
		if err := l.Allow(Calls, busy); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Allow(Calls, busy); err == nil {
		t.Error("the busy key's bucket was reset by the sweep")
	}
}
