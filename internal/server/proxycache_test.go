package server_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/envd"
)

// TestProxyCachesFollowTheSandbox: a request through the proxy finds its
// sandbox's record and network namespace kept from the requests before
// it, and the very next request after a pause, a resume and a kill sees
// each of them, not the sandbox as it was cached: a paused or killed
// sandbox answers 502 at once, a resumed one (a new process in a new
// namespace) is reached.
func TestProxyCachesFollowTheSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	c, _ := runServer(t, nil)
	sb := create(t, c, map[string]any{"timeout": 600})
	id := sb.SandboxID
	port := strconv.Itoa(envd.Port)
	health := func() (int, string) { return proxiedDo(t, c, "GET", "/health", "", id, port) }
	// healthy waits up to 20 s for the agent to answer through the proxy,
	// then asks it a few times more, each answered from the caches.
	healthy := func(when string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, body := health()
			if code == 204 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the agent through the proxy: %d %s, want 204", when, code, body)
			}
			time.Sleep(20 * time.Millisecond)
		}
		for range 5 {
			if code, body := health(); code != 204 {
				t.Fatalf("%s: again through the proxy: %d %s, want 204", when, code, body)
			}
		}
	}

	healthy("created")
	c.want(204, "POST", "/sandboxes/"+id+"/pause", map[string]any{}, nil)
	if code, body := health(); code != 502 {
		t.Errorf("the first request after the pause: %d %s, want 502", code, body)
	}
	c.want(201, "POST", "/sandboxes/"+id+"/resume", map[string]any{"timeout": 600}, nil)
	healthy("resumed")
	c.want(204, "DELETE", "/sandboxes/"+id, nil, nil)
	if code, body := health(); code != 502 {
		t.Errorf("the first request after the kill: %d %s, want 502", code, body)
	}
}
