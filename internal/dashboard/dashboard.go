// Package dashboard serves the web dashboard: the single-page app built
// from web/ into dist/app and embedded in the binary. A binary built
// before the app was built still serves, at the same address, a page that
// says how to build it.
//
// The app holds no server logic: it talks to the public REST API and,
// through the traffic proxy, to the sandboxes' agents, as any client
// does.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// Prefix is the path the dashboard is served under. The API owns the
// rest of the listener's paths.
const Prefix = "/dashboard/"

// dist holds the built app under app/; only a placeholder is committed.
//
//go:embed all:dist
var dist embed.FS

// Handler serves the dashboard under Prefix: the built app's files, and
// its index page for any path that names no file (the app routes in the
// fragment, so that is only a hand-typed path), or the build-it page when
// the app was not built into this binary.
func Handler() http.Handler {
	app, err := fs.Sub(dist, "dist/app")
	if err != nil {
		return http.HandlerFunc(notBuilt)
	}
	return handler(app)
}

// handler serves app, a built dashboard, or the build-it page when app has
// no index.html.
func handler(app fs.FS) http.Handler {
	if _, err := fs.Stat(app, "index.html"); err != nil {
		return http.HandlerFunc(notBuilt)
	}
	files := http.FileServerFS(app)
	return http.StripPrefix(strings.TrimSuffix(Prefix, "/"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		h := w.Header()
		// Sign-in lives in the tab's session storage; the page must not
		// be framed by another site that could drive it.
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", csp)
		h.Set("Referrer-Policy", "no-referrer")
		if strings.HasPrefix(name, "assets/") {
			if _, err := fs.Stat(app, name); err == nil {
				// Vite names assets by their content hash.
				h.Set("Cache-Control", "public, max-age=31536000, immutable")
				files.ServeHTTP(w, r)
				return
			}
			http.NotFound(w, r)
			return
		}
		h.Set("Cache-Control", "no-cache")
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/"
		files.ServeHTTP(w, r2)
	}))
}

// csp lets the page load only its own scripts, styles and fonts and talk
// only to its own origin (the API and, by header routing, the sandboxes).
// xterm.js and uPlot set inline styles.
const csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

func notBuilt(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(notBuiltPage))
}

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SoulBox dashboard not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>The dashboard is not built into this binary</h1>
<p>This soulbox was compiled before its web dashboard was built. The API works as usual.
To build the dashboard into the binary, from the source tree run:</p>
<pre>make dashboard build</pre>
<p>or, without make:</p>
<pre>npm ci --prefix web
npm run build --prefix web
go build -o bin/ ./cmd/soulbox</pre>
<p><code>scripts/setup.sh</code> does both.</p>
</body></html>
`
