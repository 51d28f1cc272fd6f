package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/agent/metrics"
	"github.com/soulbox/soulbox/internal/agent/state"
	"github.com/soulbox/soulbox/internal/agent/users"
)

func newServer(t *testing.T) *httptest.Server {
	st := state.New(map[string]string{"PATH": "/bin"}, users.System)
	services := map[string]http.Handler{
		"/process.Process/": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }),
		"/files":            http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }),
	}
	srv := httptest.NewServer(New(Config{State: st, Metrics: metrics.NewReader(), Services: services}))
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, token, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("X-Access-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestRoutesAndAccessToken(t *testing.T) {
	srv := newServer(t)
	u := srv.URL

	// Open until /init sets a token.
	if r, _ := do(t, "POST", u+"/process.Process/List", "", ""); r.StatusCode != http.StatusTeapot {
		t.Errorf("before init: %d", r.StatusCode)
	}
	if r, body := do(t, "POST", u+"/init", "", `{"accessToken":"s3cret","envVars":{"A":"1"},"timestamp":"2026-01-01T00:00:00Z","hyperloopIP":"x"}`); r.StatusCode != 204 {
		t.Fatalf("init: %d %s", r.StatusCode, body)
	}
	for _, tc := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/health", "", 204},
		{"GET", "/files", "", http.StatusTeapot}, // checks token or signature itself
		{"POST", "/process.Process/List", "", 401},
		{"POST", "/process.Process/List", "wrong", 401},
		{"POST", "/process.Process/List", "s3cret", http.StatusTeapot},
		{"GET", "/envs", "", 401},
		{"GET", "/envs", "s3cret", 200},
		{"GET", "/metrics", "s3cret", 200},
		{"POST", "/init", "", 401}, // a set token is changed only by who holds it
		{"POST", "/init", "s3cret", 204},
	} {
		r, body := do(t, tc.method, u+tc.path, tc.token, "")
		if r.StatusCode != tc.want {
			t.Errorf("%s %s token %q: %d %s, want %d", tc.method, tc.path, tc.token, r.StatusCode, body, tc.want)
		}
		if r.Header.Get("X-Envd-Version") != Version {
			t.Errorf("%s %s: no version header", tc.method, tc.path)
		}
		if tc.want == 401 {
			var e struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if json.Unmarshal([]byte(body), &e) != nil || e.Code != 401 || e.Message == "" {
				t.Errorf("401 body %q is not {code, message}", body)
			}
		}
	}
	_, body := do(t, "GET", u+"/envs", "s3cret", "")
	var envs map[string]string
	if err := json.Unmarshal([]byte(body), &envs); err != nil || envs["A"] != "1" || envs["PATH"] != "/bin" {
		t.Errorf("envs %s", body)
	}
	_, body = do(t, "GET", u+"/metrics", "s3cret", "")
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ts", "cpu_count", "cpu_used_pct", "mem_total", "mem_used", "mem_total_mib", "mem_used_mib", "disk_used", "disk_total"} {
		if _, ok := m[k]; !ok {
			t.Errorf("metrics lack %q: %s", k, body)
		}
	}
	if r, _ := do(t, "POST", u+"/init", "s3cret", `{"envVars": [1,2]}`); r.StatusCode != 400 {
		t.Errorf("malformed init: %d", r.StatusCode)
	}
}

// /init refuses a variable no process could be started with, which would
// make every later command fail, and keeps the state it had.
func TestInitRefusesUnusableVariables(t *testing.T) {
	srv := newServer(t)
	for _, body := range []string{`{"envVars":{"A":"x\u0000y"}}`, `{"envVars":{"A\u0000":"1"}}`, `{"envVars":{"":"1"}}`, `{"envVars":{"A=B":"1"},"accessToken":"t"}`} {
		r, msg := do(t, "POST", srv.URL+"/init", "", body)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(msg, "environment variable") {
			t.Errorf("%s: %d %s, want 400 naming the variable", body, r.StatusCode, msg)
		}
	}
	r, body := do(t, "GET", srv.URL+"/envs", "", "")
	var envs map[string]string
	_ = json.Unmarshal([]byte(body), &envs)
	if r.StatusCode != http.StatusOK || len(envs) != 1 || envs["PATH"] != "/bin" {
		t.Errorf("envs after refused /init: %d %s", r.StatusCode, body)
	}
}

// A path or method the agent does not serve gets {code, message} like
// every other error, not the mux's plain text.
func TestUnknownRoute(t *testing.T) {
	srv := newServer(t)
	for _, tc := range []struct{ method, path string }{{"GET", "/nothing"}, {"DELETE", "/envs"}, {"GET", "/files/x"}} {
		r, body := do(t, tc.method, srv.URL+tc.path, "", "")
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if r.StatusCode != http.StatusNotFound || json.Unmarshal([]byte(body), &e) != nil || e.Code != 404 || !strings.Contains(e.Message, tc.path) {
			t.Errorf("%s %s: %d %q, want 404 {code, message} naming the path", tc.method, tc.path, r.StatusCode, body)
		}
	}
}
