package runtimetest

import "testing"

func TestInOtherSandbox(t *testing.T) {
	for _, tc := range []struct {
		cgroups string
		want    bool
	}{
		{"8:pids:/soulbox-1a2b/rtsmine/user\n7:cpu:/soulbox-1a2b/rtsmine\n", false},
		{"8:pids:/soulbox-1a2b/rtsother/user\n", true},
		{"0::/soulbox-9f/rtsother\n", true},
		{"8:pids:/\n7:cpu:/user.slice\n", false}, // escaped every sandbox cgroup: a leak
		{"8:pids:/soulbox-1a2b\n", false},
	} {
		if got := inOtherSandbox(tc.cgroups, "rtsmine"); got != tc.want {
			t.Errorf("inOtherSandbox(%q) = %v, want %v", tc.cgroups, got, tc.want)
		}
	}
}
