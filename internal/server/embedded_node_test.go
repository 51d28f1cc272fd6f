package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// TestEmbeddedNodeConfig: the embedded node is on unless told off, by
// flag or SOULBOX_EMBEDDED_NODE; off without a node listener (no node
// could ever run a sandbox) and any other word are refused, saying what
// to fix. The keys dir defaults to the data dir.
func TestEmbeddedNodeConfig(t *testing.T) {
	d := Defaults()
	if d.EmbeddedNode != "on" || !d.embedded() || d.keysDir() != d.DataDir {
		t.Fatalf("defaults: embedded node %q, keys dir %q", d.EmbeddedNode, d.keysDir())
	}
	env := Defaults().FromEnv(func(name string) string {
		return map[string]string{"SOULBOX_EMBEDDED_NODE": "off", "SOULBOX_NODE_LISTEN": "127.0.0.1:3443", "SOULBOX_KEYS_DIR": "/etc/soulbox/keys"}[name]
	})
	if env.embedded() || env.keysDir() != "/etc/soulbox/keys" {
		t.Fatalf("from the environment: embedded node %q, keys dir %q", env.EmbeddedNode, env.keysDir())
	}
	empty := Defaults()
	empty.EmbeddedNode = ""
	if err := empty.Validate(); err != nil || !empty.embedded() {
		t.Errorf("an empty embedded node setting is not on: %v", err)
	}
	if err := env.Validate(); err != nil {
		t.Errorf("off with a node listener: %v", err)
	}
	for _, tc := range []struct {
		name, mode, listen, want string
	}{
		{"off without a node listener", "off", "", "--node-listen"},
		{"not on or off", "no", "127.0.0.1:3443", "want on"},
	} {
		c := Defaults()
		c.EmbeddedNode, c.NodeListen = tc.mode, tc.listen
		err := c.Validate()
		if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want invalid argument mentioning %q", tc.name, err, tc.want)
		}
	}
}
