// Package state holds what the agent is told at run time through POST
// /init: the environment every process starts with, the access token that
// guards the agent, and the default user and working directory. Every
// handler of the agent reads it; only /init writes it.
package state

import (
	"crypto/subtle"
	"encoding/base64"
	"maps"
	"net/http"
	"strings"
	"sync"

	"github.com/soulbox/soulbox/internal/agent/users"
	"github.com/soulbox/soulbox/internal/envd"
)

// DefaultUser is the user requests run as when they name none, as in E2B's
// templates.
const DefaultUser = "user"

// State is the agent's run-time configuration.
type State struct {
	mu      sync.RWMutex
	envs    map[string]string
	token   string
	traffic string
	user    string
	workdir string
	users   *users.Cache
}

// New returns the state of a fresh agent: no token (until /init sets one),
// the environment it was started with, the default user.
func New(envs map[string]string, files users.Files) *State {
	return &State{envs: maps.Clone(envs), user: DefaultUser, users: users.NewCache(files)}
}

// Init is the body of POST /init; absent fields leave the state as is.
type Init struct {
	EnvVars        map[string]string `json:"envVars,omitempty"`
	AccessToken    *string           `json:"accessToken,omitempty"`
	DefaultUser    *string           `json:"defaultUser,omitempty"`
	DefaultWorkdir *string           `json:"defaultWorkdir,omitempty"`
	// Prewarm names interpreter languages to start ahead of their first
	// execution; SoulBox's warm pool sends it, E2B does not.
	Prewarm []string `json:"soulboxPrewarm,omitempty"`
	// TrafficAccessToken is the sandbox's traffic access token, set when
	// its traffic is not public. E2B's code interpreter SDKs send it, and
	// not the access token, on the interpreter's context routes, so the
	// interpreter accepts it there. SoulBox's own field; E2B sends none.
	TrafficAccessToken *string `json:"soulboxTrafficAccessToken,omitempty"`
}

// Validate says what makes in unusable: an environment variable no
// process could be started with (an empty name, a name with = or NUL, a
// value with NUL) would make every later command fail.
func (in Init) Validate() error {
	return envd.CheckEnv(in.EnvVars)
}

// Apply takes an /init request.
func (s *State) Apply(in Init) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range in.EnvVars {
		s.envs[k] = v
	}
	if in.AccessToken != nil {
		s.token = *in.AccessToken
	}
	if in.TrafficAccessToken != nil {
		s.traffic = *in.TrafficAccessToken
	}
	if in.DefaultUser != nil && *in.DefaultUser != "" {
		s.user = *in.DefaultUser
	}
	if in.DefaultWorkdir != nil {
		s.workdir = *in.DefaultWorkdir
	}
}

// Envs returns a copy of the environment processes start with.
func (s *State) Envs() map[string]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return maps.Clone(s.envs)
}

// Secured reports whether an access token is set.
func (s *State) Secured() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.token != ""
}

// Token returns the access token ("" when none is set).
func (s *State) Token() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.token
}

// Authorized reports whether token opens the agent: any token does while
// none is set, else only the one set, compared in constant time.
func (s *State) Authorized(token string) bool {
	want := s.Token()
	if want == "" {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(token), []byte(want)) == 1
}

// TrafficGuarded reports whether a traffic access token is set.
func (s *State) TrafficGuarded() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.traffic != ""
}

// TrafficAuthorized reports whether token is the traffic access token;
// never while none is set.
func (s *State) TrafficAuthorized(token string) bool {
	s.mu.RLock()
	want := s.traffic
	s.mu.RUnlock()
	return want != "" && subtle.ConstantTimeCompare([]byte(token), []byte(want)) == 1
}

// Workdir is the default working directory ("" for the user's home).
func (s *State) Workdir() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.workdir
}

// DefaultUserName is the user of requests that name none.
func (s *State) DefaultUserName() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.user
}

// User resolves name, or the default user when name is empty.
func (s *State) User(name string) (users.User, error) {
	if name == "" {
		name = s.DefaultUserName()
	}
	return s.users.Lookup(name)
}

// RequestUser resolves the user a request runs as: E2B's SDKs send it as
// the user name of Basic authorization ("user:" base64-encoded).
func (s *State) RequestUser(h http.Header) (users.User, error) {
	return s.User(BasicUser(h))
}

// BasicUser returns the user name of a Basic Authorization header, or "".
func BasicUser(h http.Header) string {
	v, ok := strings.CutPrefix(h.Get("Authorization"), "Basic ")
	if !ok {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return ""
	}
	name, _, _ := strings.Cut(string(raw), ":")
	return name
}
