package bench

import (
	"strings"
	"testing"
	"time"
)

func TestAPILoadConfig(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string // "" is valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"no rate", func(c *Config) { c.APIRate = 0 }, "api rate 0"},
		{"no sandboxes", func(c *Config) { c.APISandboxes = 0 }, "api sandboxes 0"},
		{"too many sandboxes", func(c *Config) { c.APISandboxes = 1001 }, "api sandboxes 1001"},
		{"too short", func(c *Config) { c.APIDuration = time.Millisecond }, "api duration 1ms"},
		{"not selected", func(c *Config) { c.APIRate = 0; c.Only = []string{Exec} }, ""},
		{"commands.run load without a rate", func(c *Config) { c.APIRate = 0; c.Only = []string{RunLoadName} }, "api rate 0"},
		{"commands.run load on too many sandboxes", func(c *Config) { c.APISandboxes = 1001; c.Only = []string{RunLoadName} }, "api sandboxes 1001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Defaults()
			tc.change(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("valid config refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

// Every kind of request is in the mix and reported in its order.
func TestLoadKinds(t *testing.T) {
	l := &APILoad{Kinds: map[string]*LoadKind{}}
	for _, m := range loadMix {
		if m.shares < 1 {
			t.Errorf("kind %s has no share of the mix", m.kind)
		}
		l.Kinds[m.kind] = &LoadKind{}
	}
	got := strings.Join(l.loadKinds(), ",")
	if want := "get,list,set_timeout,metrics"; got != want {
		t.Errorf("kinds %s, want %s", got, want)
	}
}
