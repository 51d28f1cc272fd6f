package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestSandboxMetricsOwnersAndEnded: both per-sandbox metrics endpoints
// agree. An ended sandbox's history is still served to its team (as
// E2B's, kept apart from the live sandboxes) while another team gets 404
// for it on GET /sandboxes/{id}/metrics and nothing of it from GET
// /sandboxes/metrics. sandbox_ids is required and a repeated id is
// answered once.
func TestSandboxMetricsOwnersAndEnded(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	admin, _ := runServer(t, nil)
	_, a := newTeam(t, admin, "metrics-a", "owner")
	_, b := newTeam(t, admin, "metrics-b", "owner")
	ca, cb := a["owner"], b["owner"]
	sb := create(t, ca, map[string]any{"timeout": 300})
	id := sb.SandboxID

	// Two samples: the first answer may be the current usage, not yet stored.
	var hist []sandboxMetricJSON
	for deadline := time.Now().Add(40 * time.Second); len(hist) < 2; time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			t.Fatal("no two stored samples in 40 s")
		}
		ca.want(200, "GET", "/sandboxes/"+id+"/metrics", nil, &hist)
	}
	type many struct {
		Sandboxes map[string]sandboxMetricJSON `json:"sandboxes"`
	}
	checkB := func(when string) {
		t.Helper()
		if code, body, _ := cb.do("GET", "/sandboxes/"+id+"/metrics", nil); code != 404 {
			t.Errorf("%s: team B's GET /sandboxes/{A's}/metrics = %d %s, want 404", when, code, body)
		}
		var got many
		cb.want(200, "GET", "/sandboxes/metrics?sandbox_ids="+id, nil, &got)
		if len(got.Sandboxes) != 0 {
			t.Errorf("%s: team B's GET /sandboxes/metrics shows A's sandbox: %+v", when, got)
		}
	}
	checkB("live")

	ca.want(204, "DELETE", "/sandboxes/"+id, nil, nil)
	var after []sandboxMetricJSON
	ca.want(200, "GET", "/sandboxes/"+id+"/metrics", nil, &after)
	if len(after) < len(hist) {
		t.Errorf("an ended sandbox's history: %d samples, %d before it ended", len(after), len(hist))
	}
	var latest many
	ca.want(200, "GET", "/sandboxes/metrics?sandbox_ids="+id+","+id+"&sandbox_ids="+id, nil, &latest)
	if m, ok := latest.Sandboxes[id]; !ok || len(after) == 0 || m.TimestampUnix != after[len(after)-1].TimestampUnix {
		t.Errorf("latest of the ended sandbox %+v, want the last of its history", latest)
	}
	checkB("ended")

	for _, q := range []string{"", "?sandbox_ids=", "?sandbox_ids=,,", "?other=1"} {
		code, body, _ := ca.do("GET", "/sandboxes/metrics"+q, nil)
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if code != 400 || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Message, "sandbox_ids is required") {
			t.Errorf("GET /sandboxes/metrics%s = %d %s, want 400 sandbox_ids is required", q, code, body)
		}
	}
}
