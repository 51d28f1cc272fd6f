package proxy

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strconv"

	"github.com/soulbox/soulbox/internal/agent/files"
)

// bySignature finds the running sandbox whose envd access token signed a
// /files link that names no sandbox (the SDKs' uploadUrl/downloadUrl when
// they target E2B_SANDBOX_URL). It hashes the link once or twice per
// secured sandbox: O(n) SHA-256s per signed request, microseconds each,
// small next to the transfer the link starts. The agent checks the
// signature again, and its expiry, with the messages envd gives.
func (p *Proxy) bySignature(r *http.Request) (Target, error) {
	q := r.URL.Query()
	op := "read" // GET, HEAD
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		op = "write"
	}
	var expires *int64
	if s := q.Get("signature_expiration"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return Target{}, errorf(http.StatusBadRequest, "signature_expiration %q is not a unix time in seconds", s)
		}
		expires = &n
	}
	// Without a username envd signs "", but the JS SDK signs the string
	// "undefined".
	users := []string{q.Get("username")}
	if !q.Has("username") {
		users = append(users, "undefined")
	}
	targets, err := p.sandboxes.Secured(r.Context())
	if err != nil {
		return Target{}, internalError(fmt.Errorf("list sandboxes for a signed link: %w", err))
	}
	sig, path := []byte(q.Get("signature")), q.Get("path")
	for _, t := range targets {
		if t.EnvdAccessToken == "" {
			continue // anyone could sign for it
		}
		for _, u := range users {
			want := files.Signature(path, op, u, t.EnvdAccessToken, expires)
			if subtle.ConstantTimeCompare(sig, []byte(want)) == 1 {
				return t, nil
			}
		}
	}
	// Say nothing of which sandboxes exist.
	return Target{}, errorf(http.StatusUnauthorized, "invalid signature: it was not made for this %s of path %q by a running sandbox", op, path)
}
