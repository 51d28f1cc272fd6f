package interpreter

import (
	"fmt"
	"net/http"

	"github.com/soulbox/soulbox/internal/agent/state"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// Headers a client proves itself with.
const (
	accessTokenHeader  = "X-Access-Token"
	trafficTokenHeader = "E2B-Traffic-Access-Token"
)

// authorize guards every route but GET /health once the sandbox has an
// access token, as E2B's own code interpreter does:
//
//   - X-Access-Token, when sent, must be the access token, on any route.
//   - /execute needs it: every E2B SDK sends it there.
//   - The context routes (/contexts, /contexts/{id}/restart, DELETE
//     /contexts/{id}) also take the sandbox's traffic access token in
//     E2B-Traffic-Access-Token, because that is all E2B's JavaScript and
//     async Python SDKs send there. A sandbox whose traffic is private
//     (it has a traffic token) refuses them without one of the two. A
//     sandbox whose traffic is public gets no credential from those SDKs
//     on these routes, so they stay reachable to whoever can reach its
//     ports, as every other port of a public sandbox is; the cap on
//     contexts bounds what such a caller can start.
func authorize(st *state.State, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := check(st, r); err != nil {
			writeError(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// check says why r may not pass, or nil.
func check(st *state.State, r *http.Request) error {
	if !st.Secured() || (r.Method == http.MethodGet && r.URL.Path == "/health") {
		return nil
	}
	if tok := r.Header.Get(accessTokenHeader); tok != "" {
		if !st.Authorized(tok) {
			return fmt.Errorf("the access token in %s does not match the sandbox's: %w", accessTokenHeader, errdefs.ErrUnauthenticated)
		}
		return nil
	}
	if r.URL.Path == "/execute" {
		return fmt.Errorf("send the sandbox's access token in %s: %w", accessTokenHeader, errdefs.ErrUnauthenticated)
	}
	if !st.TrafficGuarded() {
		return nil
	}
	if tok := r.Header.Get(trafficTokenHeader); tok != "" && st.TrafficAuthorized(tok) {
		return nil
	}
	return fmt.Errorf("send the sandbox's access token in %s or its traffic access token in %s: %w",
		accessTokenHeader, trafficTokenHeader, errdefs.ErrUnauthenticated)
}
