package files

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/agent/state"
)

func TestSignatureFormat(t *testing.T) {
	// The JS SDK: "v1_" + base64 of sha256, padding stripped.
	sum := sha256.Sum256([]byte("/a:read::tok"))
	want := "v1_" + strings.TrimRight(base64.StdEncoding.EncodeToString(sum[:]), "=")
	if got := Signature("/a", "read", "", "tok", nil); got != want {
		t.Errorf("Signature = %s, want %s", got, want)
	}
	exp := int64(1700000000)
	sum = sha256.Sum256([]byte("/a:write:user:tok:1700000000"))
	want = "v1_" + base64.RawStdEncoding.EncodeToString(sum[:])
	if got := Signature("/a", "write", "user", "tok", &exp); got != want {
		t.Errorf("Signature with expiry = %s, want %s", got, want)
	}
}

func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	writeFile(t, filepath.Join(e.home, "f.txt"), "guarded")

	// Without a token everything passes.
	if resp, body := e.get(e.url("path", "f.txt")); resp.StatusCode != http.StatusOK {
		t.Fatalf("open agent: %d %s", resp.StatusCode, body)
	}

	const token = "s3cret-token"
	tok := token
	e.st.Apply(state.Init{AccessToken: &tok})
	future := time.Now().Add(time.Hour).Unix()
	past := time.Now().Add(-time.Minute).Unix()
	sig := func(path, op, user string, exp *int64) string { return Signature(path, op, user, token, exp) }
	exp := func(v int64) *int64 { return &v }
	itoa := func(v int64) string { return strconv.FormatInt(v, 10) }

	for _, tc := range []struct {
		name   string
		method string
		query  []string
		header []string
		status int
		says   string
	}{
		{"no auth", "GET", []string{"path", "f.txt"}, nil, 401, "missing signature query parameter"},
		{"no auth upload", "POST", []string{"path", "new.txt"}, nil, 401, "missing signature query parameter"},
		{"empty signature", "GET", []string{"path", "f.txt", "signature", ""}, nil, 401, "invalid signature"},
		{"wrong header", "GET", []string{"path", "f.txt"}, []string{"X-Access-Token", "nope"}, 401, "does not match"},
		{"right header", "GET", []string{"path", "f.txt"}, []string{"X-Access-Token", token}, 200, ""},
		{"right header upload", "POST", []string{"path", "new.txt"}, []string{"X-Access-Token", token}, 200, ""},
		{"read signature", "GET", []string{"path", "f.txt", "signature", sig("f.txt", "read", "", nil)}, nil, 200, ""},
		{"write signature", "POST", []string{"path", "new.txt", "signature", sig("new.txt", "write", "", nil)}, nil, 200, ""},
		{"read signature used to write", "POST", []string{"path", "f.txt", "signature", sig("f.txt", "read", "", nil)}, nil, 401, "invalid signature"},
		{"write signature used to read", "GET", []string{"path", "f.txt", "signature", sig("f.txt", "write", "", nil)}, nil, 401, "invalid signature"},
		{"signature of another path", "GET", []string{"path", "f.txt", "signature", sig("g.txt", "read", "", nil)}, nil, 401, "invalid signature"},
		{"signature of the absolute path", "GET", []string{"path", "f.txt", "signature", sig(filepath.Join(e.home, "f.txt"), "read", "", nil)}, nil, 401, "invalid signature"},
		{"forged signature", "GET", []string{"path", "f.txt", "signature", "v1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, nil, 401, "invalid signature"},
		{"signature with another token", "GET", []string{"path", "f.txt", "signature", Signature("f.txt", "read", "", "other", nil)}, nil, 401, "invalid signature"},
		{"signature with user", "GET", []string{"path", "f.txt", "username", "tester", "signature", sig("f.txt", "read", "tester", nil)}, nil, 200, ""},
		{"signature for another user", "GET", []string{"path", "f.txt", "username", "root", "signature", sig("f.txt", "read", "tester", nil)}, nil, 401, "invalid signature"},
		{"signature without user, user given", "GET", []string{"path", "f.txt", "username", "tester", "signature", sig("f.txt", "read", "", nil)}, nil, 401, "invalid signature"},
		{"old JS SDK undefined user", "GET", []string{"path", "f.txt", "signature", sig("f.txt", "read", "undefined", nil)}, nil, 200, ""},
		{"undefined only when no user", "GET", []string{"path", "f.txt", "username", "tester", "signature", sig("f.txt", "read", "undefined", nil)}, nil, 401, "invalid signature"},
		{"valid until later", "GET", []string{"path", "f.txt", "signature", sig("f.txt", "read", "", exp(future)), "signature_expiration", itoa(future)}, nil, 200, ""},
		{"valid until later upload", "POST", []string{"path", "new.txt", "signature", sig("new.txt", "write", "", exp(future)), "signature_expiration", itoa(future)}, nil, 200, ""},
		{"expired", "GET", []string{"path", "f.txt", "signature", sig("f.txt", "read", "", exp(past)), "signature_expiration", itoa(past)}, nil, 401, "signature is already expired"},
		{"expiry moved", "GET", []string{"path", "f.txt", "signature", sig("f.txt", "read", "", exp(past)), "signature_expiration", itoa(future)}, nil, 401, "invalid signature"},
		{"expiry dropped", "GET", []string{"path", "f.txt", "signature", sig("f.txt", "read", "", exp(future))}, nil, 401, "invalid signature"},
		{"bad expiry", "GET", []string{"path", "f.txt", "signature", sig("f.txt", "read", "", nil), "signature_expiration", "soon"}, nil, 400, "signature_expiration"},
		{"wrong header beats a valid signature", "GET", []string{"path", "f.txt", "signature", sig("f.txt", "read", "", nil)}, []string{"X-Access-Token", "nope"}, 401, "does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var resp *http.Response
			var body []byte
			if tc.method == "POST" {
				resp, body = e.post(e.url(tc.query...), "application/octet-stream", strings.NewReader("written"), tc.header...)
			} else {
				resp, body = e.get(e.url(tc.query...), tc.header...)
			}
			if tc.status != http.StatusOK {
				wantError(t, resp, body, tc.status, tc.says)
				if tc.status == http.StatusUnauthorized && strings.Contains(tc.says, "signature") {
					// E2B's SDKs show envd's words: the message is exactly them.
					var eb struct{ Message string }
					_ = json.Unmarshal(body, &eb)
					if eb.Message != tc.says {
						t.Errorf("message %q, want exactly %q", eb.Message, tc.says)
					}
				}
				return
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if tc.method == "GET" && string(body) != "guarded" {
				t.Errorf("body %q", body)
			}
		})
	}
}

// TestUnauthorizedChangesNothing checks that a refused upload writes
// nothing, even with a body.
func TestUnauthorizedChangesNothing(t *testing.T) {
	e := newEnv(t)
	tok := "t"
	e.st.Apply(state.Init{AccessToken: &tok})
	before := tree(t, e.root)
	ct, body := form(t, "dir/a.txt", "a")
	resp, rb := e.post(e.url(), ct, body, "X-Access-Token", "wrong")
	wantError(t, resp, rb, http.StatusUnauthorized)
	if after := tree(t, e.root); after != before {
		t.Errorf("tree changed:\n%s\n%s", before, after)
	}
}
