package oci

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// installAgent copies the agent binary into binDir unless an identical copy
// is there, and returns the copy's path. Sandboxes bind-mount the copy, so
// rebuilding the agent never changes a running sandbox, and all of them
// share its page cache.
func installAgent(src, binDir string) (string, error) {
	if src == "" {
		p, err := findAgent()
		if err != nil {
			return "", err
		}
		src = p
	}
	want, err := os.ReadFile(src)
	if err != nil {
		return "", fmt.Errorf("read agent binary: %w", err)
	}
	dst := filepath.Join(binDir, "soulbox-agent")
	if have, err := os.ReadFile(dst); err == nil && bytes.Equal(have, want) {
		return dst, nil
	}
	tmp, err := os.CreateTemp(binDir, ".soulbox-agent-*")
	if err != nil {
		return "", fmt.Errorf("install agent: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, bytes.NewReader(want)); err != nil {
		tmp.Close()
		return "", fmt.Errorf("install agent: %w", err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return "", fmt.Errorf("install agent: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("install agent: %w", err)
	}
	// Rename, not overwrite: a running sandbox keeps the old inode.
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("install agent: %w", err)
	}
	return dst, nil
}

// findAgent looks for soulbox-agent next to the running binary, then on PATH.
func findAgent() (string, error) {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "soulbox-agent")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("soulbox-agent"); err == nil {
		return p, nil
	} else if !errors.Is(err, exec.ErrNotFound) {
		return "", fmt.Errorf("find soulbox-agent: %w", err)
	}
	return "", fmt.Errorf("soulbox-agent not found next to this binary or on PATH: %w", errdefs.ErrFailedPrecondition)
}
