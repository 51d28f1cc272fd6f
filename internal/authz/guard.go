package authz

import (
	"fmt"
	"net/http"
	"sort"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/httperr"
)

// Routes maps each route pattern, as registered on an http.ServeMux
// ("GET /sandboxes/{id}"), to the permission it needs.
type Routes map[string]Permission

// Router is where routes are registered (an *http.ServeMux).
type Router interface {
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Guard returns a Router that registers every route on mux behind the
// permission routes names for it. Registering a route routes does not
// name panics: a new route without a decided permission is a programming
// error that every test starting a server finds, not a hole.
func Guard(mux Router, routes Routes) Router {
	return guard{mux: mux, routes: routes}
}

type guard struct {
	mux    Router
	routes Routes
}

func (g guard) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	p, ok := g.routes[pattern]
	if !ok {
		panic(fmt.Sprintf("authz: route %q has no entry in the route table", pattern))
	}
	g.mux.HandleFunc(pattern, Require(p, h))
}

// Require wraps h so that only a request whose key has p reaches it; the
// others are answered 403 with what the key lacks. A request without a
// key in its context (the authentication middleware did not run) is
// refused too: fail closed.
func Require(p Permission, h func(http.ResponseWriter, *http.Request)) func(http.ResponseWriter, *http.Request) {
	if p == Public {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		k, ok := auth.FromContext(r.Context())
		if !ok {
			httperr.Write(w, r, nil, fmt.Errorf("this route needs an API key: %w", errdefs.ErrUnauthenticated))
			return
		}
		if !Allowed(k, p) {
			httperr.Write(w, r, nil, fmt.Errorf("API key %s may not %s: this route needs a key with permission %q: %w",
				Describe(k), r.Method+" "+r.URL.Path, p, errdefs.ErrPermissionDenied))
			return
		}
		h(w, r)
	}
}

// Patterns returns the routes' patterns, sorted.
func (rs Routes) Patterns() []string {
	out := make([]string, 0, len(rs))
	for p := range rs {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
