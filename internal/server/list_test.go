package server_test

import (
	"encoding/json"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/server"
)

type startedJSON struct {
	SandboxID string    `json:"sandboxID"`
	StartedAt time.Time `json:"startedAt"`
}

// TestListNewestFirst: E2B lists the newest sandbox first; filters and
// pages follow the start time; a pooled sandbox starts when it is handed
// out, not when the pool made it.
func TestListNewestFirst(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	c, _ := runServer(t, func(cfg *server.Config) { cfg.PoolMin, cfg.PoolMax = 1, 1 })
	waitPool(t, c, 1)
	// The pooled sandbox has waited a while when it is claimed.
	time.Sleep(1500 * time.Millisecond)
	claimed := time.Now()
	var a, b sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &a) // from the pool
	if poolStats(t, c).Hits != 1 {
		t.Fatal("the first create was not served from the pool")
	}
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &b)

	var list []startedJSON
	c.want(200, "GET", "/v2/sandboxes", nil, &list)
	if len(list) != 2 || list[0].SandboxID != b.SandboxID || list[1].SandboxID != a.SandboxID {
		t.Fatalf("list %+v, want %s then %s (newest first)", list, b.SandboxID, a.SandboxID)
	}
	pooled := list[1]
	if pooled.StartedAt.Before(claimed.Add(-time.Millisecond)) {
		t.Errorf("pooled sandbox startedAt %v is before it was handed out (%v)", pooled.StartedAt, claimed)
	}
	var detail startedJSON
	c.want(200, "GET", "/sandboxes/"+a.SandboxID, nil, &detail)
	if !detail.StartedAt.Equal(pooled.StartedAt) {
		t.Errorf("detail startedAt %v, list %v", detail.StartedAt, pooled.StartedAt)
	}
	var v1 []startedJSON
	c.want(200, "GET", "/sandboxes", nil, &v1)
	if len(v1) != 2 || v1[0].SandboxID != b.SandboxID {
		t.Errorf("GET /sandboxes %+v, want newest first", v1)
	}
	c.want(200, "GET", "/v2/sandboxes?order=asc", nil, &list)
	if len(list) != 2 || list[0].SandboxID != a.SandboxID {
		t.Errorf("order=asc: %+v, want oldest first", list)
	}

	// Filters on the start time.
	rfc := func(t time.Time) string { return url.QueryEscape(t.UTC().Format(time.RFC3339Nano)) }
	c.want(200, "GET", "/v2/sandboxes?startedBefore="+rfc(claimed.Add(-time.Millisecond)), nil, &list)
	if len(list) != 0 {
		t.Errorf("startedBefore the claim: %+v, want none (the pool made it earlier, but it started at the claim)", list)
	}
	c.want(200, "GET", "/v2/sandboxes?startedAfter="+rfc(pooled.StartedAt), nil, &list)
	if len(list) != 1 || list[0].SandboxID != b.SandboxID {
		t.Errorf("startedAfter the pooled one: %+v, want only %s", list, b.SandboxID)
	}
	c.want(200, "GET", "/v2/sandboxes?startedAfter="+rfc(claimed.Add(-time.Second))+"&startedBefore="+rfc(time.Now().Add(time.Second)), nil, &list)
	if len(list) != 2 {
		t.Errorf("a window around both: %+v", list)
	}

	// Pages of one, newest first, each token leading to the next.
	var got []string
	token := ""
	for range 3 {
		path := "/v2/sandboxes?limit=1"
		if token != "" {
			path += "&nextToken=" + url.QueryEscape(token)
		}
		var page []startedJSON
		h := c.want(200, "GET", path, nil, &page)
		for _, sb := range page {
			got = append(got, sb.SandboxID)
		}
		if token = h.Get("X-Next-Token"); token == "" {
			break
		}
	}
	if len(got) != 2 || got[0] != b.SandboxID || got[1] != a.SandboxID {
		t.Errorf("pages: %v, want [%s %s]", got, b.SandboxID, a.SandboxID)
	}
}

// TestMetricsRangeBeforeSandbox: metrics of a range that ends before the
// sandbox existed are an empty list, not its current usage.
func TestMetricsRangeBeforeSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	c, _ := runServer(t, nil)
	var sb sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &sb)
	before := time.Now().Add(-time.Hour).Unix()
	for _, q := range []string{
		"?end=" + strconv.FormatInt(before, 10),
		"?start=" + strconv.FormatInt(before-60, 10) + "&end=" + strconv.FormatInt(before, 10),
	} {
		code, body, _ := c.do("GET", "/sandboxes/"+sb.SandboxID+"/metrics"+q, nil)
		var ms []map[string]any
		if code != 200 || json.Unmarshal(body, &ms) != nil || ms == nil || len(ms) != 0 {
			t.Errorf("metrics%s: %d %s, want 200 []", q, code, body)
		}
	}
	// The present still has a sample.
	var ms []map[string]any
	c.want(200, "GET", "/sandboxes/"+sb.SandboxID+"/metrics", nil, &ms)
	if len(ms) == 0 {
		t.Error("no metrics for a running sandbox")
	}
}
