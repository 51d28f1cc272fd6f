package interpreter

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/agent/state"
)

// call sends one request with the given headers (name, value, ...).
func call(t *testing.T, method, url, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	must(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// TestContextRoutesAreAuthenticated checks every route of a secured
// interpreter: the access token opens all of them, a wrong one none, and
// without it only what E2B's SDKs reach without it.
func TestContextRoutesAreAuthenticated(t *testing.T) {
	srv, home, st := newTestServerState(t)
	tok := "access-token"
	st.Apply(state.Init{AccessToken: &tok})
	good := []string{"X-Access-Token", tok}
	wrong := []string{"X-Access-Token", "guess"}
	create := fmt.Sprintf(`{"language":"bash","cwd":%q}`, home)

	// The access token opens every route.
	status, body := call(t, "POST", srv.URL+"/contexts", create, good...)
	if status != http.StatusOK {
		t.Fatalf("create with the token: %d %s", status, body)
	}
	var info Info
	must(t, json.Unmarshal([]byte(body), &info))
	for _, r := range [][2]string{{"GET", "/contexts"}, {"POST", "/contexts/" + info.ID + "/restart"}} {
		if status, body := call(t, r[0], srv.URL+r[1], "", good...); status != http.StatusOK {
			t.Errorf("%s %s with the token: %d %s", r[0], r[1], status, body)
		}
	}

	// A wrong token opens none, and changes nothing.
	routes := []struct{ method, path, body string }{
		{"POST", "/execute", `{"code":"echo hi","language":"bash"}`},
		{"POST", "/contexts", create},
		{"GET", "/contexts", ""},
		{"POST", "/contexts/" + info.ID + "/restart", ""},
		{"DELETE", "/contexts/" + info.ID, ""},
	}
	for _, r := range routes {
		status, body := call(t, r.method, srv.URL+r.path, r.body, wrong...)
		if status != http.StatusUnauthorized || !strings.Contains(body, `"code":401`) || !strings.Contains(body, "X-Access-Token") {
			t.Errorf("%s %s with a wrong token: %d %s, want 401 {code, message}", r.method, r.path, status, body)
		}
	}
	if status, body := call(t, "POST", srv.URL+"/execute", `{"code":"echo hi","language":"bash"}`); status != http.StatusUnauthorized {
		t.Errorf("execute without a token: %d %s", status, body)
	}
	if status, _ := call(t, "GET", srv.URL+"/health", "", wrong...); status != http.StatusOK {
		t.Errorf("health must stay open: %d", status)
	}

	// A sandbox with private traffic: its traffic token opens the
	// context routes (all the SDKs send there); nothing else does.
	traffic := "traffic-token"
	st.Apply(state.Init{TrafficAccessToken: &traffic})
	for _, r := range routes[1:] {
		for _, h := range [][]string{nil, {"E2B-Traffic-Access-Token", "guess"}} {
			status, body := call(t, r.method, srv.URL+r.path, r.body, h...)
			if status != http.StatusUnauthorized || !strings.Contains(body, "E2B-Traffic-Access-Token") {
				t.Errorf("%s %s with %v: %d %s, want 401", r.method, r.path, h, status, body)
			}
		}
	}
	if _, body := call(t, "GET", srv.URL+"/contexts", "", good...); strings.Count(body, `"id"`) != 1 {
		t.Errorf("refused requests changed the contexts: %s", body)
	}
	byTraffic := []string{"E2B-Traffic-Access-Token", traffic}
	if status, body := call(t, "POST", srv.URL+"/contexts/"+info.ID+"/restart", "", byTraffic...); status != http.StatusOK {
		t.Errorf("restart with the traffic token: %d %s", status, body)
	}
	if status, body := call(t, "POST", srv.URL+"/execute", `{"code":"echo hi","language":"bash"}`, byTraffic...); status != http.StatusUnauthorized {
		t.Errorf("execute with only the traffic token: %d %s, want 401", status, body)
	}
	if status, body := call(t, "DELETE", srv.URL+"/contexts/"+info.ID, "", byTraffic...); status != http.StatusNoContent {
		t.Errorf("delete with the traffic token: %d %s", status, body)
	}
}

// TestContextCap checks that clients can create MaxContexts contexts, and
// that the next is refused with a 429 saying what to do until one goes.
func TestContextCap(t *testing.T) {
	srv, home := newTestServer(t)
	var ids []string
	for i := 0; i < MaxContexts; i++ {
		info, status, body := createContext(t, srv, "bash", home)
		if status != http.StatusOK {
			t.Fatalf("context %d: %d %s", i+1, status, body)
		}
		ids = append(ids, info.ID)
	}
	_, status, body := createContext(t, srv, "bash", home)
	if status != http.StatusTooManyRequests || !strings.Contains(body, `"code":429`) || !strings.Contains(body, fmt.Sprint(MaxContexts)) || !strings.Contains(body, "remove one") {
		t.Fatalf("context past the cap: %d %s, want 429 saying the cap and what to do", status, body)
	}
	if _, body := call(t, "GET", srv.URL+"/contexts", ""); strings.Count(body, `"id"`) != MaxContexts {
		t.Errorf("a refused create changed the contexts: %s", body)
	}
	if status, body := call(t, "DELETE", srv.URL+"/contexts/"+ids[0], ""); status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", status, body)
	}
	if _, status, body := createContext(t, srv, "bash", home); status != http.StatusOK {
		t.Errorf("create after a removal: %d %s", status, body)
	}
}
