package server

import (
	"strings"
	"testing"
)

func TestRateLimitConfig(t *testing.T) {
	env := map[string]string{"SOULBOX_RATE_CALLS_PER_KEY": "600", "SOULBOX_RATE_CREATES_PER_TEAM": "30"}
	c := Defaults().FromEnv(func(k string) string { return env[k] })
	if c.RateCallsPerKey != 600 || c.RateCreatesPerTeam != 30 || c.RateCallsPerTeam != 0 || c.RateCreatesPerKey != 0 {
		t.Errorf("rate limits from env: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("valid limits: %v", err)
	}
	for _, bad := range []string{"-1", "ten", "1000001"} {
		c := Defaults().FromEnv(func(k string) string {
			if k == "SOULBOX_RATE_CREATES_PER_KEY" {
				return bad
			}
			return ""
		})
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "rate limit") {
			t.Errorf("SOULBOX_RATE_CREATES_PER_KEY=%s: %v, want a refusal naming the rate limit", bad, err)
		}
	}
}
