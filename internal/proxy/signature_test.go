package proxy

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/agent/files"
)

// signed is a /files link as the SDKs make it: no sandbox id, only the
// signature (and, when set, username and expiry) in the query.
func signed(path, op, user string, withUser bool, token string, expires *int64) string {
	q := url.Values{"path": {path}}
	if withUser {
		q.Set("username", user)
	}
	if expires != nil {
		q.Set("signature_expiration", strconv.FormatInt(*expires, 10))
	}
	q.Set("signature", files.Signature(path, op, user, token, expires))
	return "/files?" + q.Encode()
}

func TestSignedLinks(t *testing.T) {
	h := setup(t)
	exp := time.Now().Add(time.Hour).Unix()
	for _, tc := range []struct {
		name    string
		method  string
		path    string
		backend string
	}{
		{"download goes to xyz", "GET", signed("/home/user/f", "read", "", false, tokXyz, nil), "xyz-agent"},
		{"upload goes to abc", "POST", signed("/home/user/f", "write", "", false, tokAbc, nil), "abc-agent"},
		{"head is a read", "HEAD", signed("/f", "read", "", false, tokAbc, nil), "abc-agent"},
		{"with username", "GET", signed("/f", "read", "root", true, tokXyz, nil), "xyz-agent"},
		{"js sdk signs undefined", "GET", signed("/f", "read", "undefined", false, tokAbc, nil), "abc-agent"},
		{"js sdk upload, undefined", "POST", signed("/f", "write", "undefined", false, tokXyz, nil), "xyz-agent"},
		{"with expiry", "GET", signed("/f", "read", "user", true, tokXyz, &exp), "xyz-agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, request{method: tc.method, path: tc.path})
			if r.code != http.StatusOK || r.header.Get("X-Backend") != tc.backend {
				t.Fatalf("%d from %q (%s), want 200 from %s", r.code, r.header.Get("X-Backend"), r.body, tc.backend)
			}
			if tc.method != "HEAD" && r.echo.URI != tc.path {
				t.Errorf("the agent got %s, want the link unchanged %s", r.echo.URI, tc.path)
			}
		})
	}

	for _, tc := range []struct {
		name   string
		method string
		path   string
		code   int
		msg    string
	}{
		{"forged", "GET", signed("/f", "read", "", false, "guess", nil), 401, "invalid signature"},
		{"read link used to write", "POST", signed("/f", "read", "", false, tokAbc, nil), 401, "invalid signature"},
		{"other path", "GET", strings.Replace(signed("/f", "read", "", false, tokAbc, nil), "%2Ff", "%2Fg", 1), 401, "invalid signature"},
		{"other user", "GET", strings.Replace(signed("/f", "read", "user", true, tokAbc, nil), "username=user", "username=root", 1), 401, "invalid signature"},
		{"empty username is not undefined", "GET", "/files?path=%2Ff&username=&signature=" + url.QueryEscape(files.Signature("/f", "read", "undefined", tokAbc, nil)), 401, "invalid signature"},
		{"paused sandbox never matches", "GET", signed("/f", "read", "", false, "envd-token-paused", nil), 401, "invalid signature"},
		{"a sandbox without token never matches", "GET", signed("/f", "read", "", false, "", nil), 401, "invalid signature"},
		{"empty signature", "GET", "/files?path=%2Ff&signature=", 401, "invalid signature"},
		{"bad expiry", "GET", "/files?path=%2Ff&signature=v1_x&signature_expiration=soon", 400, `signature_expiration "soon"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := errorBody(t, h.do(t, request{method: tc.method, path: tc.path}), tc.code, tc.msg)
			for id := range h.sandboxes.targets {
				if strings.Contains(msg, id+" ") || strings.HasSuffix(msg, id) {
					t.Errorf("the message names sandbox %s: %q", id, msg)
				}
			}
		})
	}

	t.Run("listing fails", func(t *testing.T) {
		h.sandboxes.securedErr = errors.New("store gone")
		defer func() { h.sandboxes.securedErr = nil }()
		msg := errorBody(t, h.do(t, request{path: signed("/f", "read", "", false, tokAbc, nil)}), 500, "internal error")
		if strings.Contains(msg, "store gone") {
			t.Errorf("the client sees the cause: %q", msg)
		}
	})
}

// What a sandbox answers on the API's origin (a signed link, a request
// routed by header) must not run there as a page: it could read the
// dashboard's key. A sandbox's own host keeps its pages working.
func TestSandboxAnswersOnTheAPIOriginAreIsolated(t *testing.T) {
	h := setup(t)
	for _, tc := range []struct {
		name     string
		req      request
		isolated bool
	}{
		{"signed download", request{path: signed("/home/user/page.html", "read", "", false, tokXyz, nil)}, true},
		{"signed upload", request{method: "POST", path: signed("/home/user/f", "write", "", false, tokAbc, nil)}, true},
		{"routed by header", request{path: "/files?path=x", header: hdr("E2b-Sandbox-Id", "abc")}, true},
		{"user port by header", request{path: "/", header: hdr("E2b-Sandbox-Id", "abc", "E2b-Sandbox-Port", "8080")}, true},
		{"sandbox host", request{path: "/", host: "8080-abc.sandbox.test"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, tc.req)
			if r.code != http.StatusOK {
				t.Fatalf("%d (%s), want 200", r.code, r.body)
			}
			csp, nosniff := r.header.Get("Content-Security-Policy"), r.header.Get("X-Content-Type-Options")
			switch {
			case tc.isolated && (csp != "sandbox" || nosniff != "nosniff"):
				t.Errorf("Content-Security-Policy %q, X-Content-Type-Options %q; want sandbox and nosniff", csp, nosniff)
			case !tc.isolated && (csp != "" || nosniff != ""):
				t.Errorf("the sandbox's own host got Content-Security-Policy %q, X-Content-Type-Options %q", csp, nosniff)
			}
		})
	}
}
