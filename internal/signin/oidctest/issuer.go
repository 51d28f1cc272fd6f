// Package oidctest is an OpenID Connect issuer for tests, on loopback:
// a discovery document, a JWKS with one RSA key, and the device
// authorization grant (RFC 8628) whose user approval the test gives by
// calling Approve, as a user would in the issuer's page. It issues ID
// tokens signed with its key, and makes the bad ones a verifier must
// refuse.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer is a running test issuer. Its fields are set by New.
type Issuer struct {
	// URL is the issuer (iss) and the base of its endpoints.
	URL string
	// ClientID is the audience of the tokens it gives at device sign-in.
	ClientID string
	// Key signs its tokens; its public half is in the JWKS as KeyID.
	Key   *rsa.PrivateKey
	KeyID string

	mu      sync.Mutex
	devices map[string]*device // device code ->
	polls   int
}

type device struct {
	userCode string
	email    string // set once approved
}

// New starts an issuer for clientID on 127.0.0.1, stopped when t ends.
func New(t testing.TB, clientID string) *Issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &Issuer{ClientID: clientID, Key: key, KeyID: "test-key-1", devices: map[string]*device{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", is.discovery)
	mux.HandleFunc("GET /jwks", is.jwks)
	mux.HandleFunc("POST /device", is.deviceAuth)
	mux.HandleFunc("POST /token", is.token)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	is.URL = srv.URL
	return is
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (is *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                is.URL,
		"authorization_endpoint":                is.URL + "/authorize",
		"token_endpoint":                        is.URL + "/token",
		"device_authorization_endpoint":         is.URL + "/device",
		"jwks_uri":                              is.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"grant_types_supported":                 []string{"urn:ietf:params:oauth:grant-type:device_code"},
	})
}

func (is *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	pub := is.Key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": is.KeyID,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// Claims returns the claims of a good ID token for email: this issuer,
// audience ClientID, valid for ten minutes.
func (is *Issuer) Claims(email string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": is.URL, "aud": is.ClientID, "sub": "sub-" + strings.ToLower(email), "email": email, "email_verified": true,
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
}

// IDToken signs claims with the issuer's key (RS256).
func (is *Issuer) IDToken(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	return SignRS256(t, is.Key, is.KeyID, claims)
}

// SignRS256 signs claims with key, naming kid.
func SignRS256(t testing.TB, key *rsa.PrivateKey, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Unsigned returns claims as a token with alg none.
func Unsigned(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// HS256WithPublicKey returns claims signed HS256 with the issuer's public
// key (PEM) as the secret: the algorithm-confusion attack.
func (is *Issuer) HS256WithPublicKey(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&is.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = is.KeyID
	s, err := tok.SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// deviceAuth is RFC 8628's device authorization endpoint.
func (is *Issuer) deviceAuth(w http.ResponseWriter, r *http.Request) {
	if r.FormValue("client_id") != is.ClientID {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	code := randomString(16)
	user := randomString(4) + "-" + randomString(4)
	is.mu.Lock()
	is.devices[code] = &device{userCode: user}
	is.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code": code, "user_code": user,
		"verification_uri":          is.URL + "/activate",
		"verification_uri_complete": is.URL + "/activate?user_code=" + user,
		"expires_in":                600, "interval": 1,
	})
}

// Approve signs in email for the device that shows userCode, as the user
// would on the verification page.
func (is *Issuer) Approve(userCode, email string) error {
	is.mu.Lock()
	defer is.mu.Unlock()
	for _, d := range is.devices {
		if d.userCode == userCode {
			d.email = email
			return nil
		}
	}
	return fmt.Errorf("no device shows user code %q", userCode)
}

// Polls is how many times the token endpoint was asked.
func (is *Issuer) Polls() int {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.polls
}

// token is the token endpoint for the device code grant: pending until
// approved, then an ID token for the approved email.
func (is *Issuer) token(w http.ResponseWriter, r *http.Request) {
	if r.FormValue("grant_type") != "urn:ietf:params:oauth:grant-type:device_code" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	is.mu.Lock()
	is.polls++
	d, ok := is.devices[r.FormValue("device_code")]
	email := ""
	if ok {
		email = d.email
	}
	is.mu.Unlock()
	switch {
	case !ok:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	case email == "":
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "authorization_pending"})
		return
	}
	idToken, err := jwtSign(is, is.Claims(email))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": randomString(24), "token_type": "Bearer", "expires_in": 600, "id_token": idToken})
}

func jwtSign(is *Issuer, claims jwt.MapClaims) (string, error) {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = is.KeyID
	return tok.SignedString(is.Key)
}

func randomString(n int) string {
	const letters = "BCDFGHJKLMNPQRSTVWXZ"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}
