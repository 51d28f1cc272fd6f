package interpreter

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/agent/state"
	"github.com/soulbox/soulbox/internal/agent/users"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// Fuzz targets for what the interpreter decodes from a request: the
// bodies of /execute and /contexts, the credentials of every route, and
// the line a Bash cell reaches its driver in. Seeds are in testdata/fuzz;
// scripts/fuzz.sh runs every target.

func post(body []byte) (*httptest.ResponseRecorder, *http.Request) {
	return httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/execute", bytes.NewReader(body))
}

// FuzzParseExecute checks the body of POST /execute: any body is either
// an execution with code and at most one of context and language, or
// refused as invalid (400), never anything else.
func FuzzParseExecute(f *testing.F) {
	for _, s := range []string{
		`{"code":"1+1"}`, `{"code":"x","context_id":"c","language":"python"}`, `{"code":"echo","language":"bash","env_vars":{"A":"1"}}`,
		`{"code":null}`, `{"code":5}`, `{`, ``, `[]`, `{"code":"a"} trailing`, `{"env_vars":{"A":1},"code":""}`,
		`{"code":"\u0000","env_vars":{"A=B":"\u0000"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseExecute(post(body))
		if err != nil {
			if !errdefs.IsInvalidArgument(err) || errdefs.HTTPStatus(err) != http.StatusBadRequest {
				t.Fatalf("body %q refused with %v (status %d), want invalid argument", body, err, errdefs.HTTPStatus(err))
			}
			return
		}
		if req.Code == nil || (req.ContextID != "" && req.Language != "") {
			t.Fatalf("body %q accepted as %+v", body, req)
		}
		// What the handler does next with the request: it names a
		// language or not, and its variables are checked for it.
		if l, err := lookupLanguage(req.Language); err == nil {
			if err := l.validateEnv(req.EnvVars); err != nil && !errdefs.IsInvalidArgument(err) {
				t.Fatalf("env %q: %v", req.EnvVars, err)
			}
		} else if !errdefs.IsInvalidArgument(err) {
			t.Fatalf("language %q: %v", req.Language, err)
		}
	})
}

// FuzzParseCreate checks the body of POST /contexts: accepted only with a
// language the interpreter has, otherwise refused as invalid (400).
func FuzzParseCreate(f *testing.F) {
	for _, s := range []string{
		`{"language":"python","cwd":"/tmp"}`, `{"language":"JS"}`, `{}`, ``, `{"language":"cobol"}`,
		`{"language":5}`, `{"cwd":"\u0000"}`, `{"language":" bash "}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseCreate(post(body))
		if err != nil {
			if !errdefs.IsInvalidArgument(err) {
				t.Fatalf("body %q refused with %v, want invalid argument", body, err)
			}
			return
		}
		l, err := lookupLanguage(req.Language)
		if err != nil || languages[l.Name] != l {
			t.Fatalf("body %q accepted with language %q: %v", body, req.Language, err)
		}
	})
}

// FuzzCheck checks the credentials of the interpreter's routes in a
// secured sandbox against the rule written apart: an access token that
// is sent must be the right one and opens every route; /execute needs
// it; the context routes take the traffic token instead when the sandbox
// has one, and are open when it has none.
func FuzzCheck(f *testing.F) {
	f.Add(uint8(tokenOnly), "", "", false)
	f.Add(uint8(tokenOnly), "access", "", true)
	f.Add(uint8(tokenOrTraffic), "", "traffic", true)
	f.Add(uint8(tokenOrTraffic), "", "", true)
	f.Add(uint8(tokenOrTraffic), "wrong", "traffic", true)
	f.Add(uint8(tokenOrTraffic), "", "", false)
	f.Add(uint8(tokenOnly), "", "traffic", true)
	f.Fuzz(func(t *testing.T, route uint8, access, traffic string, guarded bool) {
		a := tokenOnly
		if route%2 == 1 {
			a = tokenOrTraffic
		}
		st := state.New(nil, users.System)
		tok, trafficTok := "access", "traffic"
		st.Apply(state.Init{AccessToken: &tok})
		if guarded {
			st.Apply(state.Init{TrafficAccessToken: &trafficTok})
		}
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if access != "" {
			r.Header.Set(accessTokenHeader, access)
		}
		if traffic != "" {
			r.Header.Set(trafficTokenHeader, traffic)
		}
		var want bool
		switch {
		case access != "":
			want = access == tok
		case a == tokenOnly:
			want = false
		default:
			want = !guarded || traffic == trafficTok
		}
		err := check(st, r, a)
		if (err == nil) != want {
			t.Fatalf("route %d with access %q, traffic %q (guarded %v): %v, want allowed=%v", a, access, traffic, guarded, err, want)
		}
		if err != nil && errdefs.HTTPStatus(err) != http.StatusUnauthorized {
			t.Fatalf("refused with status %d, want 401", errdefs.HTTPStatus(err))
		}
	})
}

// FuzzEncodeBash checks the line a Bash cell reaches its driver in: one
// line of three fields bash's read splits as meant, the cell's code
// intact in the second, and in the third each variable set to its value
// by one assignment, whatever bytes code and values hold.
func FuzzEncodeBash(f *testing.F) {
	f.Add(int64(1), "echo hi", "A", "1")
	f.Add(int64(-5), "", "", "")
	f.Add(int64(7), "a\nb 'c' \"d\" $(e) `f`", "X_1", "it's\n$(rm -rf /)")
	f.Add(int64(0), "\x00\xff", "1BAD", "v")
	f.Fuzz(func(t *testing.T, id int64, code, k, v string) {
		env := map[string]string{}
		if k != "" {
			env[k] = v
		}
		line, err := encodeBash(request{ID: id, Code: code, Env: env})
		if err != nil {
			if validEnvName(k) || !errdefs.IsInvalidArgument(err) {
				t.Fatalf("env %q refused: %v", k, err)
			}
			return
		}
		if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
			t.Fatalf("%q is not one line", line)
		}
		fields := strings.Split(strings.TrimSuffix(string(line), "\n"), " ")
		if len(fields) != 3 {
			t.Fatalf("%q does not have three fields", line)
		}
		decode := func(s string) string {
			if s == "-" {
				return ""
			}
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				t.Fatalf("field %q: %v", s, err)
			}
			return string(b)
		}
		if got := decode(fields[1]); got != code {
			t.Fatalf("code %q arrives as %q", code, got)
		}
		assignments := decode(fields[2])
		if k == "" {
			if assignments != "" {
				t.Fatalf("no variables, but %q", assignments)
			}
			return
		}
		name, quoted, ok := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(assignments, "__sbx_setenv "), "\n"), " ")
		if !ok || name != k || unquote(t, quoted) != v {
			t.Fatalf("%s=%q arrives as %q", k, v, assignments)
		}
	})
}

// unquote reads one single-quoted bash word made of '...' runs joined by
// \' and fails on anything else, such as text outside the quotes.
func unquote(t *testing.T, s string) string {
	var b strings.Builder
	for s != "" {
		if rest, ok := strings.CutPrefix(s, `\'`); ok {
			b.WriteByte('\'')
			s = rest
			continue
		}
		if s[0] != '\'' {
			t.Fatalf("unquoted text in %q", s)
		}
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			t.Fatalf("unterminated quote in %q", s)
		}
		b.WriteString(s[1 : 1+end])
		s = s[2+end:]
	}
	return b.String()
}
