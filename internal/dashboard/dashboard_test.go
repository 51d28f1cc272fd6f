package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandler(t *testing.T) {
	app := fstest.MapFS{
		"index.html":       {Data: []byte("<html>the app</html>")},
		"assets/app-1a.js": {Data: []byte("console.log(1)")},
	}
	for _, tc := range []struct {
		name, path, body, cache string
		status                  int
	}{
		{"index", "/dashboard/", "the app", "no-cache", http.StatusOK},
		{"a path the app routes", "/dashboard/sandboxes/x", "the app", "no-cache", http.StatusOK},
		{"an asset", "/dashboard/assets/app-1a.js", "console.log(1)", "public, max-age=31536000, immutable", http.StatusOK},
		{"a missing asset is not the page", "/dashboard/assets/gone.js", "404", "", http.StatusNotFound},
		{"no way out of the app", "/dashboard/../../etc/passwd", "the app", "no-cache", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			handler(app).ServeHTTP(w, httptest.NewRequest("GET", tc.path, nil))
			body, _ := io.ReadAll(w.Result().Body)
			if w.Code != tc.status || !strings.Contains(string(body), tc.body) {
				t.Errorf("GET %s: %d %q, want %d with %q", tc.path, w.Code, body, tc.status, tc.body)
			}
			if got := w.Header().Get("Cache-Control"); got != tc.cache {
				t.Errorf("GET %s: Cache-Control %q, want %q", tc.path, got, tc.cache)
			}
			if tc.status == http.StatusOK && !strings.Contains(w.Header().Get("Content-Security-Policy"), "connect-src 'self'") {
				t.Errorf("GET %s: no Content-Security-Policy keeping the page to its own origin", tc.path)
			}
		})
	}
}

// TestNotBuilt: a binary compiled before the app was built still answers
// with a page that says how to build it.
func TestNotBuilt(t *testing.T) {
	w := httptest.NewRecorder()
	handler(fstest.MapFS{}).ServeHTTP(w, httptest.NewRequest("GET", "/dashboard/", nil))
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, "npm run build --prefix web") || !strings.Contains(body, "make dashboard") {
		t.Errorf("%d %q", w.Code, body)
	}
}
