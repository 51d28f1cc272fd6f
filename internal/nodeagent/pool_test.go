package nodeagent

import (
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// The warm pool's flags are checked before anything starts, each
// refusal naming the flag; --pool-max 0 turns the pool off whatever
// --pool-min says.
func TestPoolConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    PoolConfig
		want string // "" when valid
	}{
		{"defaults", PoolConfig{Min: 1, Max: 16, Prewarm: "python"}, ""},
		{"off", PoolConfig{Min: 1, Max: 0, Prewarm: "python"}, ""},
		{"no prewarm", PoolConfig{Min: 0, Max: 4, Prewarm: "none"}, ""},
		{"min above max", PoolConfig{Min: 5, Max: 2}, "--pool-*"},
		{"negative", PoolConfig{Min: -1, Max: 2}, "--pool-*"},
		{"unknown language", PoolConfig{Min: 1, Max: 2, Prewarm: "python,cobol"}, "cobol"},
		{"negative memory", PoolConfig{Min: 1, Max: 2, MemoryMiB: -1}, "--pool-memory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("validate() = %v, want an invalid argument naming %q", err, tc.want)
			}
		})
	}
}
