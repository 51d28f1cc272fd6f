package server

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/agent/state"
	"github.com/soulbox/soulbox/internal/agent/users"
)

// FuzzInit sends any body to POST /init, the one route that writes the
// agent's state, and checks: it answers 204 or 400, nothing else; a
// refused body changes nothing; an accepted one leaves an environment
// every process can be started with, holding the body's variables.
func FuzzInit(f *testing.F) {
	for _, s := range []string{
		`{"envVars":{"A":"1"},"accessToken":"t","defaultUser":"root","defaultWorkdir":"/tmp","timestamp":"2026-01-01T00:00:00Z"}`,
		`{"soulboxPrewarm":["python"],"soulboxTrafficAccessToken":"x"}`, ``, `{}`, `null`, `{`, `[]`,
		`{"envVars":{"":"x"}}`, `{"envVars":{"A=B":"x"}}`, `{"envVars":{"A":"\u0000"}}`, `{"envVars":{"A\u0000":"1"}}`,
		`{"envVars":5}`, `{"accessToken":null,"envVars":null}`, `{"envVars":{"A":"1"}} trailing`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		st := state.New(map[string]string{"PATH": "/bin"}, users.System)
		h := New(Config{State: st})
		before := maps.Clone(st.Envs())
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/init", bytes.NewReader(body)))
		switch w.Code {
		case http.StatusBadRequest:
			if !maps.Equal(st.Envs(), before) || st.Secured() || st.DefaultUserName() != state.DefaultUser || st.Workdir() != "" {
				t.Fatalf("refused body %q changed the state", body)
			}
			return
		case http.StatusNoContent:
		default:
			t.Fatalf("body %q: status %d %s", body, w.Code, w.Body)
		}
		for k, v := range st.Envs() {
			if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
				t.Fatalf("body %q set %q=%q, which no process can be started with", body, k, v)
			}
		}
		var in struct {
			EnvVars map[string]string `json:"envVars"`
		}
		if json.NewDecoder(bytes.NewReader(body)).Decode(&in) == nil {
			for k, v := range in.EnvVars {
				if got, ok := st.Envs()[k]; !ok || got != v {
					t.Fatalf("body %q: %s is %q, want %q", body, k, got, v)
				}
			}
		}
	})
}
