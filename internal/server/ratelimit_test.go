package server_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/server"
)

// TestRateLimits: a key over its API call rate gets 429 with Retry-After
// and a message naming the limit; creates are counted apart from other
// calls; sandbox traffic through the proxy is not limited.
func TestRateLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	admin, _ := runServer(t, func(cfg *server.Config) {
		cfg.RateCallsPerKey = 60  // a burst of 6, then one a second
		cfg.RateCreatesPerKey = 6 // a burst of 1, then one each 10 s
	})
	_, keys := newTeam(t, admin, "limited", "developer")
	dev := keys["developer"]
	killAll(t, dev)

	var sb sandboxJSON
	dev.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &sb)
	code, body, h := dev.do("POST", "/sandboxes", map[string]any{"templateID": "base"})
	retry, _ := strconv.Atoi(h.Get("Retry-After"))
	if code != http.StatusTooManyRequests || retry < 1 || retry > 10 || !strings.Contains(string(body), "6 sandbox creates a minute") {
		t.Errorf("second create at once: %d %s Retry-After %q, want 429 naming the limit", code, body, h.Get("Retry-After"))
	}

	// Calls: the create did not take from them, so the burst is whole.
	limited := 0
	for i := range 10 {
		code, body, h := dev.do("GET", "/v2/sandboxes", nil)
		switch {
		case code == http.StatusTooManyRequests:
			limited++
			if h.Get("Retry-After") != "1" || !strings.Contains(string(body), "60 API calls a minute") {
				t.Errorf("refused call: %s Retry-After %q", body, h.Get("Retry-After"))
			}
		case code != 200:
			t.Errorf("call %d: %d %s", i, code, body)
		case i < 6 && limited > 0:
			t.Errorf("call %d of the burst passed after a refusal", i)
		}
	}
	if limited == 0 {
		t.Error("10 quick calls, none refused: want those past the burst of 6 refused")
	}
	// Another key is not held back by this one's calls.
	admin.want(200, "GET", "/v2/sandboxes", nil, nil)

	// Sandbox traffic is no API call: 100 requests to the agent pass.
	for i := range 100 {
		code, body := proxiedDo(t, dev, "GET", "/health", "", sb.SandboxID, "49983")
		if code == http.StatusTooManyRequests {
			t.Fatalf("proxied request %d: %d %s", i, code, body)
		}
	}
	time.Sleep(2 * time.Second) // calls refill
	dev.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
}
