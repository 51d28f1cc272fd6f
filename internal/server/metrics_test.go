package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/soulbox/soulbox/internal/server"
)

// families scrapes /metrics and parses it as Prometheus' text format.
func families(t *testing.T, c apiClient) map[string]*dto.MetricFamily {
	t.Helper()
	code, body, h := c.do("GET", "/metrics", nil)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %q\n%s", code, h.Get("Content-Type"), body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams
}

// sample finds the sample of family name whose labels include want, or
// nil.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

// value is a counter's or gauge's value, or a histogram's count; 0 when
// the sample is absent.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	m := sample(fams, name, labels)
	switch {
	case m == nil:
		return 0
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}

type lbl = map[string]string

// TestMetricsWithoutPool: a server with the warm pool off still answers
// /metrics with what it has, the sandboxes by state.
func TestMetricsWithoutPool(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	c, _ := runServer(t, nil) // the pool is off in tests unless asked for
	fams := families(t, c)
	for _, st := range []string{"starting", "running", "pausing", "paused", "resuming"} {
		if m := sample(fams, "soulbox_sandboxes", lbl{"state": st}); m == nil || m.GetGauge().GetValue() != 0 {
			t.Errorf("soulbox_sandboxes{state=%q} = %v, want 0", st, m)
		}
	}
	for name := range fams {
		if strings.HasPrefix(name, "soulbox_pool_") {
			t.Errorf("/metrics reports a pool that is off: %s", name)
		}
	}
	var sb sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &sb)
	if v := value(families(t, c), "soulbox_sandboxes", lbl{"state": "running"}); v != 1 {
		t.Errorf("running sandboxes after a create = %v, want 1", v)
	}
	c.want(204, "POST", "/sandboxes/"+sb.SandboxID+"/pause", nil, nil)
	fams = families(t, c)
	if v := value(fams, "soulbox_sandboxes", lbl{"state": "paused"}); v != 1 {
		t.Errorf("paused sandboxes after a pause = %v, want 1", v)
	}
	// A pause keeps the memory by default, as E2B's: the runtime
	// checkpoints the sandbox to disk.
	if v := value(fams, "soulbox_runtime_call_duration_seconds", lbl{"call": "checkpoint", "result": "ok"}); v != 1 {
		t.Errorf("runtime checkpoint calls = %v, want 1", v)
	}
	if v := value(fams, "soulbox_sandbox_create_duration_seconds", lbl{"template": "base", "start": "cold"}); v != 1 {
		t.Errorf("cold creates timed = %v, want 1", v)
	}
}

// TestMetricsAfterWorkload drives a warm create, a cold create, bad
// requests, agent traffic through the proxy and a kill, then checks that
// each moved the metrics an operator watches, and that no label carries
// a sandbox id.
func TestMetricsAfterWorkload(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	c, _ := runServer(t, func(cfg *server.Config) { cfg.PoolMin, cfg.PoolMax, cfg.PoolPrewarm = 1, 1, "none" })
	waitPool(t, c, 1)

	var warm, cold sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &warm)
	req, _ := http.NewRequest("POST", c.base+"/sandboxes", strings.NewReader(`{"templateID":"base"}`))
	req.Header.Set("X-API-Key", c.key)
	req.Header.Set("Soulbox-Pool", "off")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := jsonDecode(resp, &cold); err != nil || resp.StatusCode != 201 {
		t.Fatalf("cold create: %d %v", resp.StatusCode, err)
	}
	badTemplate, _, _ := c.do("POST", "/sandboxes", map[string]any{"templateID": "no-such-template"})
	c.want(404, "GET", "/sandboxes/nosuchsandbox", nil, nil)
	c.do("BREW", "/sandboxes", nil)

	// Agent traffic through the proxy, by header, and to a sandbox that
	// does not exist.
	agent := func(id string) int {
		req, _ := http.NewRequest("GET", c.base+"/health", nil)
		req.Header.Set("E2b-Sandbox-Id", id)
		req.Header.Set("E2b-Sandbox-Port", "49983")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	okCode, goneCode := agent(warm.SandboxID), agent("nosuchsandbox")
	c.want(204, "DELETE", "/sandboxes/"+warm.SandboxID, nil, nil)

	fams := families(t, c)
	checks := []struct {
		name   string
		labels lbl
		want   float64 // at least
		exact  bool
	}{
		{"soulbox_http_requests_total", lbl{"route": "/sandboxes", "method": "POST", "code": "201"}, 2, true},
		{"soulbox_http_request_duration_seconds", lbl{"route": "/sandboxes", "method": "POST", "code": "201"}, 2, true},
		{"soulbox_http_requests_total", lbl{"route": "/sandboxes", "method": "POST", "code": itoa(badTemplate)}, 1, true},
		{"soulbox_http_requests_total", lbl{"route": "/sandboxes/{id}", "method": "GET", "code": "404"}, 1, true},
		{"soulbox_http_requests_total", lbl{"route": "/sandboxes/{id}", "method": "DELETE", "code": "204"}, 1, true},
		{"soulbox_http_requests_total", lbl{"method": "other"}, 1, true},
		{"soulbox_sandbox_create_duration_seconds", lbl{"template": "base", "start": "warm"}, 1, true},
		{"soulbox_sandbox_create_duration_seconds", lbl{"template": "base", "start": "cold"}, 1, true},
		{"soulbox_pool_claim_duration_seconds", lbl{"template": "base", "result": "hit"}, 1, true},
		{"soulbox_sandbox_ends_total", lbl{"reason": "killed"}, 1, true},
		{"soulbox_store_operation_duration_seconds", lbl{"operation": "create_sandbox", "result": "ok"}, 2, true},
		{"soulbox_store_operation_duration_seconds", lbl{"operation": "end_sandbox", "result": "ok"}, 1, false},
		// The pool's fill and the cold create.
		{"soulbox_runtime_call_duration_seconds", lbl{"call": "create", "result": "ok"}, 2, false},
		{"soulbox_runtime_call_duration_seconds", lbl{"call": "start", "result": "ok"}, 2, false},
		{"soulbox_proxy_requests_total", lbl{"target": "agent", "code": itoa(okCode)}, 1, true},
		{"soulbox_proxy_requests_total", lbl{"target": "agent", "code": itoa(goneCode)}, 1, true},
		{"soulbox_proxy_bytes_total", lbl{"target": "agent", "direction": "out", "code": itoa(goneCode)}, 1, false},
		{"soulbox_pool_hits_total", lbl{"template": "base"}, 1, true},
		{"soulbox_pool_target", lbl{"template": "base"}, 1, true},
		{"soulbox_sandboxes", lbl{"state": "running"}, 1, true},
		{"soulbox_data_dir_free_bytes", nil, 1, false},
		{"soulbox_data_dir_size_bytes", nil, 1, false},
		{"go_goroutines", nil, 1, false},
		{"process_resident_memory_bytes", nil, 1, false},
	}
	for _, ck := range checks {
		got := value(fams, ck.name, ck.labels)
		if got < ck.want || (ck.exact && got != ck.want) {
			t.Errorf("%s%v = %v, want %v", ck.name, ck.labels, got, ck.want)
		}
	}
	if okCode >= 300 || goneCode != http.StatusBadGateway {
		t.Errorf("agent health through the proxy = %d, unknown sandbox = %d", okCode, goneCode)
	}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v := l.GetValue(); v == warm.SandboxID || v == cold.SandboxID || v == "nosuchsandbox" {
					t.Errorf("%s has a sandbox id as label %s", name, l.GetName())
				}
			}
		}
	}
}

func jsonDecode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestMetricsOff: --metrics=false leaves no /metrics endpoint, and the
// server works without the wrappers.
func TestMetricsOff(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	c, _ := runServer(t, func(cfg *server.Config) { cfg.Metrics = false })
	c.want(404, "GET", "/metrics", nil, nil)
	var sb sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &sb)
	c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)
}
