package nodeagent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/objstore"
)

// TestObjectsRefusedAtStart: object storage settings a node cannot use
// are refused at start, before it joins (its token unspent): a missing
// secret key, and object storage on a node that runs no sandboxes.
func TestObjectsRefusedAtStart(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		says string
	}{
		{"no secret key", Config{Runtime: RuntimeConfig{Listen: "127.0.0.1:3444"},
			Objects: objstore.Settings{Endpoint: "http://127.0.0.1:9000", Bucket: "b", AccessKey: "a"}}, "SOULBOX_S3_SECRET_KEY"},
		{"no sandboxes", Config{Objects: objstore.Settings{Endpoint: "http://127.0.0.1:9000", Bucket: "b", AccessKey: "a", SecretKey: "s"}},
			"--s3-endpoint without --listen"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.DataDir = t.TempDir()
			c.cfg.ControlPlane, c.cfg.JoinToken = "https://127.0.0.1:1", "sbn1.x.y.z"
			err := Run(t.Context(), c.cfg)
			if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), c.says) {
				t.Errorf("Run = %v; want invalid saying %q", err, c.says)
			}
			if _, err := os.Stat(filepath.Join(c.cfg.DataDir, "node")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused start began to join: %v", err)
			}
		})
	}
}
