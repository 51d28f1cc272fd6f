package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
)

type sandboxMetricJSON struct {
	Timestamp     time.Time `json:"timestamp"`
	TimestampUnix int64     `json:"timestampUnix"`
	CPUCount      int       `json:"cpuCount"`
	CPUUsedPct    float64   `json:"cpuUsedPct"`
	MemUsed       uint64    `json:"memUsed"`
	MemTotal      uint64    `json:"memTotal"`
	DiskTotal     uint64    `json:"diskTotal"`
}

// TestMetricHistoryAcrossRestart: the 5 s samples of a sandbox are kept
// in the store, so the history a server served is served again after a
// restart; a range before the sandbox existed is empty; the team's
// metrics count it; and every bad range is a 400 or 404 saying what to
// fix.
func TestMetricHistoryAcrossRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	addr, stop := serveInProcess(t, cfg)
	c := apiClient{t: t, base: "http://" + addr, key: cfg.AdminKey}
	sb := create(t, c, map[string]any{"timeout": 600})
	id := sb.SandboxID
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			c.do("DELETE", "/sandboxes/"+id, nil)
			if err := stop(); err != nil {
				t.Error(err)
			}
		}
	})

	// Wait for two samples of the monitor (every 5 s).
	var before []sandboxMetricJSON
	for deadline := time.Now().Add(40 * time.Second); len(before) < 2; time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			t.Fatalf("no two samples in 40 s: %+v", before)
		}
		c.want(200, "GET", "/sandboxes/"+id+"/metrics", nil, &before)
	}
	for _, m := range before {
		if m.CPUCount < 1 || m.MemTotal == 0 || m.DiskTotal == 0 || m.TimestampUnix != m.Timestamp.Unix() {
			t.Errorf("sample %+v lacks E2B's fields", m)
		}
	}
	first := before[0].TimestampUnix

	// What the sandbox sends on its link is counted: 50 datagrams of 4 kB
	// to its gateway (the host's end of its link, whose policy refuses
	// them: nothing leaves the host, and the link carried them).
	send := `gw=$(awk '$2=="00000000"{print $3}' /proc/net/route)
ip=$(printf '%d.%d.%d.%d' 0x${gw:6:2} 0x${gw:4:2} 0x${gw:2:2} 0x${gw:0:2})
for i in $(seq 50); do head -c 4000 /dev/zero > /dev/udp/$ip/9 2>/dev/null; done; true`
	if out, code := sh(t, c, sb, send); code != 0 {
		t.Fatalf("send to the gateway: %d %s", code, out)
	}
	sent := time.Now().Unix()
	var counted bool
	for deadline := time.Now().Add(30 * time.Second); !counted && time.Now().Before(deadline); time.Sleep(time.Second) {
		var later []struct {
			TimestampUnix int64  `json:"timestampUnix"`
			NetTxBytes    uint64 `json:"netTxBytes"`
		}
		c.want(200, "GET", fmt.Sprintf("/sandboxes/%s/metrics?start=%d", id, sent), nil, &later)
		for _, m := range later {
			counted = counted || m.NetTxBytes >= 200000
		}
	}
	if !counted {
		t.Errorf("200 kB sent on the sandbox's link never showed in netTxBytes")
	}

	// A range that ends before the sandbox existed is an empty array.
	code, body, _ := c.do("GET", fmt.Sprintf("/sandboxes/%s/metrics?start=%d&end=%d", id, first-3600, first-600), nil)
	if code != 200 || strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("a range before the sandbox: %d %s, want 200 []", code, body)
	}
	// A range that takes in the first sample only.
	var one []sandboxMetricJSON
	c.want(200, "GET", fmt.Sprintf("/sandboxes/%s/metrics?start=%d&end=%d", id, first, first), nil, &one)
	if len(one) != 1 || one[0].TimestampUnix != first {
		t.Errorf("the first second's samples: %+v", one)
	}

	// The server restarts: what it served is served again.
	stopped = true
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	addr, stop = serveInProcess(t, cfg)
	stopped = false
	c.base = "http://" + addr
	var after []sandboxMetricJSON
	c.want(200, "GET", "/sandboxes/"+id+"/metrics", nil, &after)
	if len(after) < len(before) {
		t.Fatalf("after a restart %d samples, before %d", len(after), len(before))
	}
	for i, m := range before {
		if after[i].TimestampUnix != m.TimestampUnix || after[i].MemUsed != m.MemUsed {
			t.Errorf("sample %d after a restart %+v, before %+v", i, after[i], m)
		}
	}
	var many struct {
		Sandboxes map[string]sandboxMetricJSON `json:"sandboxes"`
	}
	c.want(200, "GET", "/sandboxes/metrics?sandbox_ids="+id+",unknownid", nil, &many)
	if len(many.Sandboxes) != 1 || many.Sandboxes[id].TimestampUnix < after[len(after)-1].TimestampUnix {
		t.Errorf("latest metrics of several: %+v", many)
	}

	// The team's metrics count the sandbox; the most at once is 1.
	team := sb.ClientID
	now := time.Now().Unix()
	var points []struct {
		TimestampUnix       int64   `json:"timestampUnix"`
		ConcurrentSandboxes int     `json:"concurrentSandboxes"`
		SandboxStartRate    float64 `json:"sandboxStartRate"`
	}
	c.want(200, "GET", fmt.Sprintf("/teams/%s/metrics?start=%d&end=%d", team, first-60, now), nil, &points)
	var started float64
	for _, p := range points {
		started += p.SandboxStartRate
	}
	if len(points) < 2 || points[0].ConcurrentSandboxes != 0 || points[len(points)-1].ConcurrentSandboxes != 1 || started == 0 {
		t.Errorf("team metrics %+v: want 0 then 1 sandbox, and a start", points)
	}
	var most struct {
		TimestampUnix int64   `json:"timestampUnix"`
		Value         float64 `json:"value"`
	}
	c.want(200, "GET", fmt.Sprintf("/teams/%s/metrics/max?metric=concurrent_sandboxes&start=%d&end=%d", team, first-60, now), nil, &most)
	if most.Value != 1 || most.TimestampUnix < first-60 || most.TimestampUnix > first {
		t.Errorf("most concurrent sandboxes %+v, want 1 at the create (before %d)", most, first)
	}

	// Bad input: each a {code, message} saying what to fix.
	tooMany := strings.Repeat("a,", 101)
	for _, tc := range []struct {
		path string
		want int
		says string
	}{
		{fmt.Sprintf("/sandboxes/%s/metrics?start=%d&end=%d", id, now, now-10), 400, "after end"},
		{fmt.Sprintf("/sandboxes/%s/metrics?start=%d&end=%d", id, now-40*86400, now), 400, "too long"},
		{"/sandboxes/" + id + "/metrics?start=yesterday", 400, "start"},
		{"/sandboxes/" + id + "/metrics?end=1.5", 400, "end"},
		{"/sandboxes/" + id + "/metrics?start=-1", 400, "start"},
		{"/sandboxes/unknownid/metrics", 404, "unknownid"},
		{"/sandboxes/metrics?sandbox_ids=" + tooMany, 400, "at most 100"},
		{"/teams/" + team + "/metrics?start=soon", 400, "start"},
		{"/teams/" + team + "/metrics?start=0", 400, "too long"},
		{fmt.Sprintf("/teams/%s/metrics?start=%d&end=%d", team, now, now-10), 400, "after end"},
		{"/teams/someone-else/metrics", 403, "not the team"},
		{"/teams/" + team + "/metrics/max", 400, "metric is required"},
		{"/teams/" + team + "/metrics/max?metric=cpu", 400, "concurrent_sandboxes"},
	} {
		code, body, _ := c.do("GET", tc.path, nil)
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if code != tc.want || json.Unmarshal(body, &e) != nil || e.Code != code || !strings.Contains(e.Message, tc.says) {
			t.Errorf("GET %s = %d %s, want %d with %q", tc.path, code, body, tc.want, tc.says)
		}
	}
}
