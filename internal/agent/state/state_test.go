package state

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/soulbox/soulbox/internal/agent/users"
)

func TestTokenAndInit(t *testing.T) {
	s := New(map[string]string{"A": "1"}, users.System)
	if !s.Authorized("") || s.Secured() {
		t.Fatal("a fresh agent must be open")
	}
	tok, user, wd := "secret", "root", "/work"
	s.Apply(Init{EnvVars: map[string]string{"B": "2"}, AccessToken: &tok, DefaultUser: &user, DefaultWorkdir: &wd})
	if s.Authorized("") || s.Authorized("wrong") || !s.Authorized("secret") {
		t.Error("token not enforced")
	}
	if e := s.Envs(); e["A"] != "1" || e["B"] != "2" {
		t.Errorf("envs %v", e)
	}
	if s.DefaultUserName() != "root" || s.Workdir() != "/work" {
		t.Errorf("defaults %q %q", s.DefaultUserName(), s.Workdir())
	}
	empty := ""
	s.Apply(Init{DefaultUser: &empty})
	if s.DefaultUserName() != "root" {
		t.Error("an empty default user replaced the default")
	}
}

func TestTrafficToken(t *testing.T) {
	s := New(nil, users.System)
	if s.TrafficGuarded() || s.TrafficAuthorized("") || s.TrafficAuthorized("x") {
		t.Fatal("no traffic token is set: nothing may pass as one")
	}
	tok := "traffic"
	s.Apply(Init{TrafficAccessToken: &tok})
	if !s.TrafficGuarded() || !s.TrafficAuthorized("traffic") || s.TrafficAuthorized("") || s.TrafficAuthorized("traffi") {
		t.Error("traffic token not enforced")
	}
	if !s.Authorized("") {
		t.Error("a traffic token must not close the agent: it is not the access token")
	}
}

func TestBasicUser(t *testing.T) {
	for header, want := range map[string]string{
		"Basic " + base64.StdEncoding.EncodeToString([]byte("root:")): "root",
		"Basic " + base64.StdEncoding.EncodeToString([]byte("user")):  "user",
		"Basic !!!": "",
		"Bearer x":  "",
		"":          "",
	} {
		h := http.Header{}
		if header != "" {
			h.Set("Authorization", header)
		}
		if got := BasicUser(h); got != want {
			t.Errorf("BasicUser(%q) = %q, want %q", header, got, want)
		}
	}
}
