package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/client"
)

// fakeAPI is the part of the REST API the fleet uses, in memory.
type fakeAPI struct {
	delay time.Duration // of each create

	mu   sync.Mutex
	n    int
	live map[string]map[string]string // id -> metadata
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == "POST" && r.URL.Path == "/sandboxes":
		var body struct {
			Metadata map[string]string `json:"metadata"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		// The server finishes a create even if its client gave up.
		time.Sleep(f.delay)
		f.mu.Lock()
		f.n++
		id := fmt.Sprintf("i%d", f.n)
		f.live[id] = body.Metadata
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(client.Sandbox{SandboxID: id})
	case r.Method == "DELETE" && strings.HasPrefix(r.URL.Path, "/sandboxes/"):
		id := strings.TrimPrefix(r.URL.Path, "/sandboxes/")
		f.mu.Lock()
		_, ok := f.live[id]
		delete(f.live, id)
		f.mu.Unlock()
		if !ok {
			http.Error(w, `{"code":404,"message":"not found"}`, http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case r.Method == "GET" && r.URL.Path == "/v2/sandboxes":
		want, _ := url.ParseQuery(r.URL.Query().Get("metadata"))
		var out []client.Sandbox
		f.mu.Lock()
		for id, md := range f.live {
			match := true
			for k := range want {
				match = match && md[k] == want.Get(k)
			}
			if match {
				out = append(out, client.Sandbox{SandboxID: id, Metadata: md})
			}
		}
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(out)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeAPI) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id := range f.live {
		out = append(out, id)
	}
	return out
}

func newFakeFleet(t *testing.T, delay time.Duration) (*fakeAPI, *fleet) {
	api := &fakeAPI{delay: delay, live: map[string]map[string]string{}}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return api, newFleet(&client.Client{BaseURL: srv.URL, APIKey: "k"}, "base")
}

// An interrupt during a create does not lose the sandbox the server goes
// on to create: the create completes and cleanup kills it.
func TestFleetCreateSurvivesCancel(t *testing.T) {
	api, f := newFakeFleet(t, 200*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	sb, err := f.create(ctx, true)
	if err != nil || sb.SandboxID == "" {
		t.Fatalf("create interrupted half-way: %v, %+v", err, sb)
	}
	if _, err := f.create(ctx, false); err != context.Canceled {
		t.Errorf("create after the interrupt: %v, want context.Canceled", err)
	}
	n, err := f.cleanup(ctx)
	if n != 1 || err != nil || len(api.ids()) != 0 {
		t.Errorf("cleanup killed %d (%v), left %v", n, err, api.ids())
	}
}

// Cleanup also kills sandboxes of the run it never heard of (a create
// whose answer was lost), found by the run's tag, and no one else's.
func TestFleetCleanupSweepsByTag(t *testing.T) {
	api, f := newFakeFleet(t, 0)
	ctx := context.Background()
	kept, err := f.create(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	killed, err := f.create(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.kill(ctx, killed.SandboxID); err != nil {
		t.Fatal(err)
	}
	// Killing a sandbox that is already gone is not an error.
	if err := f.kill(ctx, killed.SandboxID); err != nil {
		t.Errorf("second kill: %v", err)
	}
	api.mu.Lock()
	api.live["lost"] = map[string]string{MetadataKey: f.tag}
	api.live["other"] = map[string]string{MetadataKey: "another-run"}
	api.mu.Unlock()
	n, err := f.cleanup(ctx)
	if err != nil || n != 2 {
		t.Errorf("cleanup killed %d, %v; want %s and lost", n, err, kept.SandboxID)
	}
	if left := api.ids(); len(left) != 1 || left[0] != "other" {
		t.Errorf("left %v, want only another run's sandbox", left)
	}
}
