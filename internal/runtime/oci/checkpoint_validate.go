package oci

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// externalKeyPattern is the only shape of externalFile.Key a checkpoint
// writes: CRIU's file[mnt_id:inode], both in hex.
var externalKeyPattern = regexp.MustCompile(`^file\[[0-9a-f]{1,16}:[0-9a-f]{1,16}\]$`)

// validate checks a checkpoint's description before restore feeds any of
// it to CRIU or opens what it names: checkpoint.json lies on disk, and a
// line break in a key would add options of its own to CRIU's
// configuration. Every field must be one a checkpoint of sandbox id on
// runtime rt writes.
func (m checkpointMeta) validate(id, rt string) error {
	if m.Sandbox != id {
		return fmt.Errorf("it is of sandbox %q, not %q: %w", m.Sandbox, id, errdefs.ErrInvalidArgument)
	}
	if err := runtime.ValidateID(m.Sandbox); err != nil {
		return err
	}
	if m.Runtime != rt {
		return fmt.Errorf("it was made by runtime %q, the sandbox runs on %q: %w", m.Runtime, rt, errdefs.ErrInvalidArgument)
	}
	for i, ef := range m.External {
		if !externalKeyPattern.MatchString(ef.Key) {
			return fmt.Errorf("external file %d: key %q is not of the form file[mnt_id:inode]: %w", i, ef.Key, errdefs.ErrInvalidArgument)
		}
		if !filepath.IsAbs(ef.Path) || ef.Path != filepath.Clean(ef.Path) || hasControl(ef.Path) {
			return fmt.Errorf("external file %d: path %q is not a clean absolute path: %w", i, ef.Path, errdefs.ErrInvalidArgument)
		}
		if ef.Flags&^(unix.O_ACCMODE|unix.O_APPEND) != 0 || ef.Flags&unix.O_ACCMODE == unix.O_ACCMODE {
			return fmt.Errorf("external file %d: open flags %#o are not ones a checkpoint records: %w", i, ef.Flags, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// hasControl reports whether s holds a control character (a line break
// among them).
func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
}
