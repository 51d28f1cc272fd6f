package cli

import "testing"

// TestNodeObjectFlags: a node takes the server's object storage settings,
// from SOULBOX_S3_* or the same --s3-* flags, the flags winning.
func TestNodeObjectFlags(t *testing.T) {
	t.Setenv("SOULBOX_S3_ENDPOINT", "http://env:9000")
	t.Setenv("SOULBOX_S3_BUCKET", "env-bucket")
	cmd := newNodeCmd()
	if err := cmd.ParseFlags([]string{"--s3-bucket", "flag-bucket", "--s3-prefix", "nodes/"}); err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]string{"s3-endpoint": "http://env:9000", "s3-bucket": "flag-bucket", "s3-prefix": "nodes/", "s3-timeout": "0s"} {
		if got := cmd.Flags().Lookup(flag).Value.String(); got != want {
			t.Errorf("--%s = %q, want %q", flag, got, want)
		}
	}
}
