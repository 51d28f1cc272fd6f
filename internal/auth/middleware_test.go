package auth

import (
	"github.com/soulbox/soulbox/internal/httperr"

	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMiddleware(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	key, rec, err := Create(ctx, st, "ci", "team1", false)
	if err != nil {
		t.Fatal(err)
	}
	revoked, revRec, _ := Create(ctx, st, "old", "team1", false)
	if err := st.RevokeAPIKey(ctx, revRec.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	unknown, _, _ := Generate()
	h := (&Authenticator{Store: st}).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, ok := FromContext(r.Context())
		if !ok {
			t.Error("no key in the context of an authenticated request")
		}
		w.Write([]byte(k.ID))
	}))

	for _, tc := range []struct {
		name    string
		headers map[string]string
		status  int
		msg     string // in the 401 message
	}{
		{"x-api-key", map[string]string{"X-API-Key": key}, 200, ""},
		{"bearer", map[string]string{"Authorization": "Bearer " + key}, 200, ""},
		{"bearer lower case", map[string]string{"Authorization": "bearer " + key}, 200, ""},
		{"x-api-key wins", map[string]string{"X-API-Key": key, "Authorization": "Bearer " + unknown}, 200, ""},
		{"missing", nil, 401, "missing API key: send it in the X-API-Key header"},
		{"basic auth", map[string]string{"Authorization": "Basic dXNlcjo="}, 401, "missing API key"},
		{"malformed", map[string]string{"X-API-Key": "e2b_xyz"}, 401, "malformed API key"},
		{"unknown", map[string]string{"X-API-Key": unknown}, 401, "unknown API key"},
		{"revoked", map[string]string{"X-API-Key": revoked}, 401, "was revoked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/v2/sandboxes", nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("status %d %s, want %d", w.Code, w.Body, tc.status)
			}
			if tc.status == 200 {
				if w.Body.String() != rec.ID {
					t.Errorf("handler saw key %q, want %q", w.Body, rec.ID)
				}
				return
			}
			checkErrorBody(t, w, 401, tc.msg)
		})
	}
}

func TestMiddlewareStoreFailure(t *testing.T) {
	key, _, _ := Generate()
	h := (&Authenticator{Store: failingStore{}}).Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("the handler ran without a checked key")
	}))
	req := httptest.NewRequest("GET", "/sandboxes", nil)
	req.Header.Set("X-API-Key", key)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	// A server fault, with no internals shown.
	checkErrorBody(t, w, 500, httperr.InternalMessage)
	if strings.Contains(w.Body.String(), "fire") {
		t.Errorf("the store's error reached the client: %s", w.Body)
	}
}

// checkErrorBody checks the answer is exactly {"code": status, "message"}
// as the E2B SDKs parse it.
func checkErrorBody(t *testing.T, w *httptest.ResponseRecorder, status int, msg string) {
	t.Helper()
	if w.Code != status || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("status %d, content type %q; want %d, application/json", w.Code, w.Header().Get("Content-Type"), status)
	}
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	m, _ := body["message"].(string)
	if len(body) != 2 || body["code"] != float64(status) || !strings.Contains(m, msg) {
		t.Errorf("body %s, want {code: %d, message: ...%s...}", w.Body, status, msg)
	}
}
