package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/server"
)

// apiClient calls the server's REST API as the SDKs do.
type apiClient struct {
	t    testing.TB
	base string
	key  string
}

func (c apiClient) do(method, path string, body any) (int, []byte, http.Header) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	if c.key != "" {
		req.Header.Set("X-API-Key", c.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func (c apiClient) want(status int, method, path string, body, out any) http.Header {
	c.t.Helper()
	got, b, h := c.do(method, path, body)
	if got != status {
		c.t.Fatalf("%s %s = %d %s, want %d", method, path, got, b, status)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return h
}

// runServer runs a server in-process for a test, with an admin key.
func runServer(t testing.TB, mod func(*server.Config)) (apiClient, server.Config) {
	t.Helper()
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	if mod != nil {
		mod(&cfg)
	}
	addr, stop := serveInProcess(t, cfg)
	c := apiClient{t: t, base: "http://" + addr, key: cfg.AdminKey}
	t.Cleanup(func() {
		// Kill what the test left, then stop the server.
		var list []map[string]any
		if code, b, _ := c.do("GET", "/v2/sandboxes", nil); code == 200 {
			_ = json.Unmarshal(b, &list)
		}
		for _, sb := range list {
			c.do("DELETE", "/sandboxes/"+sb["sandboxID"].(string), nil)
		}
		_ = stop()
	})
	return c, cfg
}

// serveInProcess runs a server for cfg until stop, which waits for Run
// to return and returns its error.
func serveInProcess(t testing.TB, cfg server.Config) (addr string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, discardLogger())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	return srv.Addr(), func() error {
		cancel()
		return <-done
	}
}

type sandboxJSON struct {
	TemplateID      string  `json:"templateID"`
	SandboxID       string  `json:"sandboxID"`
	ClientID        string  `json:"clientID"`
	EnvdVersion     string  `json:"envdVersion"`
	EnvdAccessToken *string `json:"envdAccessToken"`
	// TrafficAccessToken guards user ports of a private sandbox.
	TrafficAccessToken *string `json:"trafficAccessToken"`
}

type listedJSON struct {
	SandboxID string            `json:"sandboxID"`
	State     string            `json:"state"`
	CPUCount  int               `json:"cpuCount"`
	MemoryMB  int               `json:"memoryMB"`
	Metadata  map[string]string `json:"metadata"`
	EndAt     time.Time         `json:"endAt"`
}

func TestSandboxAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	c, _ := runServer(t, func(cfg *server.Config) { cfg.MaxSandboxes = 3 })

	var a, b sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 120, "metadata": map[string]string{"app": "x", "n": "1"}, "cpuCount": 1, "memoryMB": 256}, &a)
	if a.SandboxID == "" || a.EnvdAccessToken == nil || *a.EnvdAccessToken == "" || a.EnvdVersion != "0.6.13" || a.TemplateID != "base" {
		t.Errorf("created %+v", a)
	}
	c.want(201, "POST", "/v2/sandboxes", map[string]any{"templateID": "code-interpreter-v1", "metadata": map[string]string{"app": "y"}, "secure": false}, &b)
	if b.EnvdAccessToken != nil {
		t.Errorf("secure=false sandbox has a token")
	}

	var detail struct {
		listedJSON
		EnvdAccessToken string `json:"envdAccessToken"`
	}
	c.want(200, "GET", "/sandboxes/"+a.SandboxID, nil, &detail)
	if detail.State != "running" || detail.CPUCount != 1 || detail.MemoryMB != 256 || detail.Metadata["app"] != "x" || detail.EnvdAccessToken != *a.EnvdAccessToken {
		t.Errorf("detail %+v", detail)
	}

	// Filters and pagination.
	var list []listedJSON
	md := url.QueryEscape(url.QueryEscape("app") + "=" + url.QueryEscape("x"))
	c.want(200, "GET", "/v2/sandboxes?metadata="+md, nil, &list)
	if len(list) != 1 || list[0].SandboxID != a.SandboxID {
		t.Errorf("metadata filter: %+v", list)
	}
	h := c.want(200, "GET", "/v2/sandboxes?limit=1", nil, &list)
	next := h.Get("X-Next-Token")
	if len(list) != 1 || next == "" {
		t.Fatalf("page 1: %+v next %q", list, next)
	}
	first := list[0].SandboxID
	h = c.want(200, "GET", "/v2/sandboxes?limit=1&nextToken="+url.QueryEscape(next), nil, &list)
	if len(list) != 1 || list[0].SandboxID == first || h.Get("X-Next-Token") != "" {
		t.Errorf("page 2: %+v next %q", list, h.Get("X-Next-Token"))
	}

	// Timeout, pause, connect.
	c.want(204, "POST", "/sandboxes/"+a.SandboxID+"/timeout", map[string]any{"timeout": 3600}, nil)
	c.want(200, "GET", "/sandboxes/"+a.SandboxID, nil, &detail)
	if time.Until(detail.EndAt) < 59*time.Minute {
		t.Errorf("timeout not extended: %v", detail.EndAt)
	}
	c.want(204, "POST", "/sandboxes/"+b.SandboxID+"/pause", nil, nil)
	c.want(409, "POST", "/sandboxes/"+b.SandboxID+"/pause", nil, nil)
	c.want(200, "GET", "/v2/sandboxes?state=paused", nil, &list)
	if len(list) != 1 || list[0].SandboxID != b.SandboxID || list[0].State != "paused" {
		t.Errorf("paused list %+v", list)
	}
	c.want(201, "POST", "/sandboxes/"+b.SandboxID+"/connect", map[string]any{"timeout": 60}, nil)
	c.want(200, "POST", "/v2/sandboxes/"+b.SandboxID+"/connect", map[string]any{"timeout": 60}, nil)

	// Metrics and logs.
	var metrics []map[string]any
	c.want(200, "GET", "/sandboxes/"+a.SandboxID+"/metrics", nil, &metrics)
	if len(metrics) == 0 || metrics[0]["memTotal"] == nil || metrics[0]["timestampUnix"] == nil {
		t.Errorf("metrics %v", metrics)
	}
	var logs struct {
		Logs       []map[string]any `json:"logs"`
		LogEntries []map[string]any `json:"logEntries"`
	}
	c.want(200, "GET", "/sandboxes/"+a.SandboxID+"/logs", nil, &logs)
	joined, _ := json.Marshal(logs)
	if !strings.Contains(string(joined), "created") || !strings.Contains(string(joined), "agent ready") {
		t.Errorf("logs lack the lifecycle or the agent: %s", joined)
	}

	// Quota: 2 live, max 3 -> one more fits, then 429.
	var third sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &third)
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	c.want(429, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &e)
	if e.Code != 429 || !strings.Contains(e.Message, "max-sandboxes") {
		t.Errorf("quota error %+v", e)
	}

	// Kill.
	c.want(204, "DELETE", "/sandboxes/"+third.SandboxID, nil, nil)
	c.want(404, "DELETE", "/sandboxes/"+third.SandboxID, nil, nil)
	c.want(404, "GET", "/sandboxes/"+third.SandboxID, nil, nil)
}

func TestSandboxAPIBadInput(t *testing.T) {
	c, _ := runServer(t, nil)
	for _, tc := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"POST", "/sandboxes", map[string]any{"templateID": "nope"}, 404},
		{"POST", "/sandboxes", map[string]any{}, 400},
		{"POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": -5}, 400},
		{"POST", "/sandboxes", map[string]any{"templateID": "base", "cpuCount": 999}, 400},
		{"POST", "/sandboxes", map[string]any{"templateID": "base", "memoryMB": -1}, 400},
		{"POST", "/sandboxes", "not an object", 400},
		{"GET", "/sandboxes/unknownid", nil, 404},
		{"DELETE", "/sandboxes/unknownid", nil, 404},
		{"POST", "/sandboxes/unknownid/timeout", map[string]any{"timeout": 10}, 404},
		{"POST", "/sandboxes/unknownid/timeout", map[string]any{}, 400},
		{"POST", "/sandboxes/unknownid/pause", nil, 404},
		{"GET", "/v2/sandboxes?limit=1000", nil, 400},
		{"GET", "/v2/sandboxes?state=sleeping", nil, 400},
		{"GET", "/v2/sandboxes?nextToken=garbage!!", nil, 400},
		{"GET", "/v2/sandboxes?metadata=%zz", nil, 400},
		// NUL characters are valid JSON and URL escapes, but no store
		// keeps them: refused, on SQLite as on PostgreSQL.
		{"POST", "/sandboxes", map[string]any{"templateID": "base", "metadata": map[string]string{"k": "a\x00b"}}, 400},
		{"POST", "/sandboxes", map[string]any{"templateID": "base", "metadata": map[string]string{"k\x00": "v"}}, 400},
		{"GET", "/v2/sandboxes?metadata=k%3Da%2500b", nil, 400},
		{"GET", "/sandboxes/x/metrics?start=yesterday", nil, 400},
		{"PUT", "/sandboxes/x", nil, 404},
		{"GET", "/sandboxes/x/nothing/here", nil, 404},
		{"PATCH", "/v2/sandboxes", nil, 404},
	} {
		code, b, _ := c.do(tc.method, tc.path, tc.body)
		if code != tc.want {
			t.Errorf("%s %s %v: %d %s, want %d", tc.method, tc.path, tc.body, code, b, tc.want)
			continue
		}
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &e) != nil || e.Code != code || e.Message == "" {
			t.Errorf("%s %s: body %s is not {code, message}", tc.method, tc.path, b)
		}
	}
	// Nothing was recorded by the bad creates.
	var list []listedJSON
	c.want(200, "GET", "/v2/sandboxes", nil, &list)
	if len(list) != 0 {
		t.Errorf("bad requests left sandboxes: %+v", list)
	}
}

func TestAPIKeyRequired(t *testing.T) {
	c, _ := runServer(t, nil)
	for _, key := range []string{"", "e2b_short", "e2b_0000000000000000000000000000000000000000"} {
		c2 := c
		c2.key = key
		code, body, _ := c2.do("GET", "/v2/sandboxes", nil)
		if code != 401 || !strings.Contains(string(body), `"code":401`) {
			t.Errorf("key %q: %d %s", key, code, body)
		}
	}
	c.want(200, "GET", "/health", nil, nil) // open
	var doc map[string]any
	c.want(200, "GET", "/openapi.json", nil, &doc)
	if doc["openapi"] != "3.0.3" {
		t.Errorf("openapi document: %v", doc["openapi"])
	}
}

func TestConcurrentCreates(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	c, _ := runServer(t, func(cfg *server.Config) { cfg.MaxSandboxes = 6 })
	const n = 8 // two more than the quota
	type result struct {
		code int
		id   string
	}
	results := make(chan result, n)
	for range n {
		go func() {
			code, b, _ := c.do("POST", "/sandboxes", map[string]any{"templateID": "base"})
			var sb sandboxJSON
			_ = json.Unmarshal(b, &sb)
			results <- result{code, sb.SandboxID}
		}()
	}
	ids := map[string]bool{}
	refused := 0
	for range n {
		r := <-results
		switch r.code {
		case 201:
			ids[r.id] = true
		case 429:
			refused++
		default:
			t.Errorf("create answered %d", r.code)
		}
	}
	if len(ids) != 6 || refused != 2 {
		t.Errorf("%d created (distinct), %d refused; want 6 and 2", len(ids), refused)
	}
	var list []listedJSON
	c.want(200, "GET", "/v2/sandboxes", nil, &list)
	if len(list) != 6 {
		t.Errorf("%d listed, want 6", len(list))
	}
}
