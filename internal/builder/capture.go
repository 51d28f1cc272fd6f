package builder

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// idRange is how many ids a sandbox's user namespace maps.
const idRange = 65536

// perSandbox are files the runtime writes into every sandbox; they are not
// the build's and stay out of its layers.
var perSandbox = map[string]bool{"etc/hostname": true, "etc/hosts": true, "etc/resolv.conf": true}

// capture copies a stopped build sandbox's changes (an overlayfs upper
// directory, owned by host uids from hostUID) into the layer directory
// dst, shifting owners back to the sandbox's own ids and keeping
// overlayfs's whiteouts and opaque markers.
func capture(upper, dst string, hostUID uint32) error {
	shift := func(id uint32) int {
		if id >= hostUID && id < hostUID+idRange {
			return int(id - hostUID)
		}
		return 65534 // nobody: not an id of the sandbox
	}
	links := map[uint64]string{}
	return filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(upper, p)
		if err != nil || rel == "." || perSandbox[rel] {
			return err
		}
		target := filepath.Join(dst, rel)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		mode := st.Mode & unix.S_IFMT
		switch mode {
		case unix.S_IFDIR:
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
			buf := make([]byte, 8)
			if n, err := unix.Lgetxattr(p, opaqueXattr, buf); err == nil && string(buf[:n]) == "y" {
				if err := unix.Lsetxattr(target, opaqueXattr, []byte("y"), 0); err != nil {
					return fmt.Errorf("mark %s opaque: %w", rel, err)
				}
			}
		case unix.S_IFREG:
			if st.Nlink > 1 {
				if first, ok := links[st.Ino]; ok {
					return os.Link(first, target)
				}
				links[st.Ino] = target
			}
			if err := copyFile(p, target); err != nil {
				return fmt.Errorf("keep %s: %w", rel, err)
			}
		case unix.S_IFLNK:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(l, target); err != nil {
				return err
			}
		case unix.S_IFCHR:
			if st.Rdev != 0 {
				return nil // no device but a whiteout can be made in a sandbox
			}
			if err := unix.Mknod(target, unix.S_IFCHR, 0); err != nil {
				return fmt.Errorf("whiteout %s: %w", rel, err)
			}
		case unix.S_IFIFO:
			if err := unix.Mkfifo(target, 0o600); err != nil {
				return err
			}
		default:
			return nil // sockets and devices are not kept
		}
		if err := os.Lchown(target, shift(st.Uid), shift(st.Gid)); err != nil {
			return err
		}
		if mode != unix.S_IFLNK {
			if err := unix.Fchmodat(unix.AT_FDCWD, target, st.Mode&0o7777, 0); err != nil {
				return err
			}
		}
		ts := []unix.Timespec{st.Atim, st.Mtim}
		return unix.UtimesNanoAt(unix.AT_FDCWD, target, ts, unix.AT_SYMLINK_NOFOLLOW)
	})
}

const opaqueXattr = "trusted.overlay.opaque"

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
