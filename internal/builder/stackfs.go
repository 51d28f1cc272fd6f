package builder

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"syscall"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// lookupInStack finds path (absolute, inside the template) in the stack
// as overlayfs would: the topmost layer that has it wins, and a whiteout
// there means it is gone. It returns the host path of what it found.
func lookupInStack(stack []string, path string) (string, os.FileInfo, bool) {
	rel := strings.TrimPrefix(filepath.Clean(path), "/")
	for _, l := range stack {
		p := filepath.Join(l, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && fi.Mode()&os.ModeCharDevice != 0 && st.Rdev == 0 {
			return "", nil, false // whiteout
		}
		return p, fi, true
	}
	return "", nil, false
}

// readInStack reads a regular file of the template.
func readInStack(stack []string, path string) (string, bool) {
	p, fi, ok := lookupInStack(stack, path)
	if !ok || !fi.Mode().IsRegular() {
		return "", false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// lookupOwner resolves "name", "uid", "name:group" or "uid:gid" against
// the template's /etc/passwd and /etc/group.
func lookupOwner(stack []string, spec string) (int, int, error) {
	user, group, hasGroup := strings.Cut(spec, ":")
	passwd, _ := readInStack(stack, "/etc/passwd")
	uid, gid := -1, -1
	for _, line := range strings.Split(passwd, "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 4 && (f[0] == user || f[2] == user) {
			uid, _ = strconv.Atoi(f[2])
			gid, _ = strconv.Atoi(f[3])
			break
		}
	}
	if uid < 0 {
		n, err := strconv.Atoi(user)
		if err != nil || n < 0 || n > 65535 {
			return 0, 0, fmt.Errorf("user %q does not exist in the template's /etc/passwd: %w", user, errdefs.ErrInvalidArgument)
		}
		uid, gid = n, n
	}
	if hasGroup {
		if n, err := strconv.Atoi(group); err == nil && n >= 0 && n <= 65535 {
			gid = n
		} else {
			groups, _ := readInStack(stack, "/etc/group")
			found := false
			for _, line := range strings.Split(groups, "\n") {
				f := strings.Split(line, ":")
				if len(f) >= 3 && f[0] == group {
					gid, _ = strconv.Atoi(f[2])
					found = true
					break
				}
			}
			if !found {
				return 0, 0, fmt.Errorf("group %q does not exist in the template's /etc/group: %w", group, errdefs.ErrInvalidArgument)
			}
		}
	}
	return uid, gid, nil
}

// mkdirAllIn creates rel's directories inside dir, owned by uid:gid, where
// the template does not already have them (so existing directories keep
// their owner and mode).
func mkdirAllIn(dir string, stack []string, abs string, uid, gid int) error {
	rel := strings.TrimPrefix(filepath.Clean(abs), "/")
	if rel == "" || rel == "." {
		return nil
	}
	cur, curAbs := dir, "/"
	for _, el := range strings.Split(rel, "/") {
		cur = filepath.Join(cur, el)
		curAbs = filepath.Join(curAbs, el)
		if _, err := os.Lstat(cur); err == nil {
			continue
		}
		if p, fi, ok := lookupInStack(stack, curAbs); ok {
			if !fi.IsDir() {
				return fmt.Errorf("%s exists in the template and is not a directory: %w", curAbs, errdefs.ErrInvalidArgument)
			}
			// Copy the directory's own attributes, so the new layer does
			// not change them.
			st := fi.Sys().(*syscall.Stat_t)
			if err := os.Mkdir(cur, fi.Mode().Perm()); err != nil {
				return err
			}
			if err := os.Lchown(cur, int(st.Uid), int(st.Gid)); err != nil {
				return err
			}
			if err := os.Chmod(cur, fi.Mode()&(os.ModePerm|os.ModeSetgid|os.ModeSticky)); err != nil {
				return err
			}
			_ = p
			continue
		}
		if err := os.Mkdir(cur, 0o755); err != nil {
			return err
		}
		if err := os.Chmod(cur, 0o755); err != nil {
			return err
		}
		if err := os.Lchown(cur, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// isNotExist reports whether err says a path is missing.
func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
