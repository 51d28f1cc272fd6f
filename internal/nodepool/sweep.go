package nodepool

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// Sweep destroys the sandboxes a pool of an earlier run of the node
// marked in dir and never handed out (the node crashed, or was killed,
// with them pooled), and makes dir for this run's pool. It runs before
// the node's sandbox service opens: no create can have claimed them
// since. A sandbox that cannot be destroyed keeps its marker, for the
// next start.
func Sweep(ctx context.Context, d runtime.Driver, dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		id := e.Name()
		if err := d.Destroy(ctx, id); err != nil && !errdefs.IsNotFound(err) {
			log.Warn("destroy a pooled sandbox of an earlier run", "sandbox.id", id, "err", err)
			continue
		}
		if err := os.Remove(filepath.Join(dir, id)); err != nil {
			return err
		}
		log.Info("destroyed a pooled sandbox of an earlier run", "sandbox.id", id)
	}
	return nil
}
