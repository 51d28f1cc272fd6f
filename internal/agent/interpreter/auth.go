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

// access says who may call a route once the sandbox has an access token.
// Every route but GET /health is guarded, as in E2B's own interpreter,
// and an X-Access-Token that is sent must be the sandbox's on any route.
type access int

const (
	// tokenOnly routes need the access token: /execute, where every E2B
	// SDK sends it.
	tokenOnly access = iota
	// tokenOrTraffic routes (the context routes) also take the sandbox's
	// traffic access token in E2B-Traffic-Access-Token, because that is
	// all E2B's JavaScript and async Python SDKs send there. A sandbox
	// whose traffic is private (it has a traffic token) refuses them
	// without one of the two. A sandbox whose traffic is public gets no
	// credential from those SDKs there, so they stay reachable to whoever
	// can reach its ports, as its other ports are; MaxContexts bounds
	// what such a caller can start.
	tokenOrTraffic
)

// guard serves next to the requests a may pass, and 401 to the others.
func guard(st *state.State, a access, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := check(st, r, a); err != nil {
			writeError(w, err)
			return
		}
		next(w, r)
	})
}

// check says why r may not call a route guarded by a, or nil.
func check(st *state.State, r *http.Request, a access) error {
	if !st.Secured() {
		return nil
	}
	if tok := r.Header.Get(accessTokenHeader); tok != "" {
		if !st.Authorized(tok) {
			return fmt.Errorf("the access token in %s does not match the sandbox's: %w", accessTokenHeader, errdefs.ErrUnauthenticated)
		}
		return nil
	}
	if a == tokenOnly {
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
