package template

import (
	"fmt"
	"os"
	"strings"
)

// mkdirPublic creates dir and makes it world-readable regardless of the
// umask: sandboxes read templates as unprivileged host uids.
func mkdirPublic(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	// Only chmod when needed: a non-owner may use a cache that is fine as is.
	if fi.Mode().Perm() != 0o755 {
		if err := os.Chmod(dir, 0o755); err != nil {
			return fmt.Errorf("chmod %s: %w", dir, err)
		}
	}
	return nil
}

// writePublicFile writes a file with exactly mode perm, regardless of the
// umask and of what was there (a symlink is replaced, not followed).
func writePublicFile(path, content string, perm os.FileMode) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(path, perm); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	return nil
}

// removeTree removes path and everything below it, after making sure no
// mount is left inside that the removal would descend into.
func removeTree(path string) error {
	if err := unmountUnder(path); err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	left, err := mountsUnder(path)
	if err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	if len(left) > 0 {
		return fmt.Errorf("remove %s: refusing, still mounted: %s", path, strings.Join(left, ", "))
	}
	if err := os.RemoveAll(path); err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}
