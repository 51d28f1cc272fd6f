package cli

import "testing"

// TestNodeControlPlaneFlag: --control-plane takes several control-plane
// replicas, comma-separated or the flag repeated; given on the command
// line, it replaces SOULBOX_CONTROL_PLANE.
func TestNodeControlPlaneFlag(t *testing.T) {
	t.Setenv("SOULBOX_CONTROL_PLANE", "https://env:3443")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "https://env:3443"},
		{[]string{"--control-plane", "https://a:3443"}, "https://a:3443"},
		{[]string{"--control-plane", "https://a:3443,https://b:3443"}, "https://a:3443,https://b:3443"},
		{[]string{"--control-plane", "https://a:3443", "--control-plane", "https://b:3443"}, "https://a:3443,https://b:3443"},
	} {
		cmd := newNodeCmd()
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got := cmd.Flags().Lookup("control-plane").Value.String(); got != tc.want {
			t.Errorf("%v: control plane %q, want %q", tc.args, got, tc.want)
		}
	}
}
