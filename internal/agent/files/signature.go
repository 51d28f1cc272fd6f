package files

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"
)

// The operations a URL signature is made for.
const (
	opRead  = "read"
	opWrite = "write"
)

// Signature is envd's signature of a /files URL: path and username exactly
// as in the query ("" when absent), operation "read" (GET) or "write"
// (POST), and the unix second the signature expires at, when it does.
func Signature(path, operation, username, token string, expires *int64) string {
	raw := path + ":" + operation + ":" + username + ":" + token
	if expires != nil {
		raw += ":" + strconv.FormatInt(*expires, 10)
	}
	sum := sha256.Sum256([]byte(raw))
	return "v1_" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// The messages of a refused signature are envd's, word for word: E2B's
// SDKs show them to their users as they are.
const (
	msgMissingSignature = "missing signature query parameter"
	msgInvalidSignature = "invalid signature"
	msgExpiredSignature = "signature is already expired"
)

// authorize lets r through when no token is set, when X-Access-Token holds
// the token, or when the query carries a valid, unexpired signature for
// operation. As in envd, a token in the header is final: a wrong one
// fails even next to a valid signature.
func (h *Handler) authorize(r *http.Request, operation string) *httpError {
	token := h.st.Token()
	if token == "" {
		return nil
	}
	if got := r.Header.Get("X-Access-Token"); got != "" {
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			return errorf(http.StatusUnauthorized, nil, "the access token in X-Access-Token does not match the sandbox's")
		}
		return nil
	}

	q := r.URL.Query()
	if !q.Has("signature") {
		return errorf(http.StatusUnauthorized, nil, msgMissingSignature)
	}
	sig := q.Get("signature")
	var expires *int64
	if v := q.Get("signature_expiration"); v != "" {
		exp, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return errorf(http.StatusBadRequest, err, "signature_expiration %q is not a unix time in seconds", v)
		}
		expires = &exp
	}
	// Without a username, envd signs "" but older JS SDKs sign the string
	// "undefined": accept both.
	names := []string{q.Get("username")}
	if !q.Has("username") {
		names = append(names, "undefined")
	}
	path := q.Get("path")
	ok := 0
	for _, name := range names {
		ok |= subtle.ConstantTimeCompare([]byte(sig), []byte(Signature(path, operation, name, token, expires)))
	}
	if ok != 1 {
		return errorf(http.StatusUnauthorized, nil, msgInvalidSignature)
	}
	if expires != nil && *expires < time.Now().Unix() {
		return errorf(http.StatusUnauthorized, nil, msgExpiredSignature)
	}
	return nil
}
