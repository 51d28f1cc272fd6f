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

// Every sandbox gets every kind of request, in the mix's shares, for any
// number of sandboxes and kinds: commands.run's single kind once reached
// only every other sandbox.
func TestLoadTargetSpreadsEveryKindOverEverySandbox(t *testing.T) {
	for _, c := range []struct{ sandboxes, kinds int }{{20, 1}, {50, 1}, {20, 17}, {17, 17}, {1, 17}, {3, 2}} {
		n := c.sandboxes * c.kinds
		pairs := map[[2]int]int{}
		perKind := make([]int, c.kinds)
		for i := range n {
			s, k := loadTarget(i, c.sandboxes, c.kinds)
			pairs[[2]int{s, k}]++
			perKind[k]++
		}
		if len(pairs) != n {
			t.Errorf("%d sandboxes, %d kinds: %d of %d (sandbox, kind) pairs in %d requests", c.sandboxes, c.kinds, len(pairs), n, n)
		}
		for k, got := range perKind {
			if got != c.sandboxes {
				t.Errorf("%d sandboxes, %d kinds: kind %d sent %d times in %d requests, want %d", c.sandboxes, c.kinds, k, got, n, c.sandboxes)
			}
		}
	}
}
