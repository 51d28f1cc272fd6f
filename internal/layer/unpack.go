package layer

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// The OCI image spec's whiteout names, and overlayfs's opaque marker.
const (
	whiteoutPrefix = ".wh."
	opaqueWhiteout = ".wh..wh..opq"
	opaqueXattr    = "trusted.overlay.opaque"
)

// UnpackOptions change how Unpack writes entries.
type UnpackOptions struct {
	// Rename maps an entry's cleaned, relative name to where it goes in
	// the layer (relative too); ok false skips the entry. Nil keeps names.
	Rename func(name string, isDir bool) (string, bool)
	// Owner, when set, owns every entry instead of the archive's owners.
	Owner *[2]int
	// Mode, when not negative, replaces the permissions of every file
	// (not directory) unpacked.
	Mode int64
}

// Unpack writes the tar stream r into the layer directory dir, refusing
// what could reach outside it or onto the host: names with ".." or
// absolute names, entries below a symbolic link, hard links to anything
// not already in this layer, and device nodes. OCI whiteouts become
// overlayfs whiteouts. A refused entry fails the whole unpack with
// ErrInvalidArgument naming it.
func Unpack(r io.Reader, dir string, opts UnpackOptions) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read layer archive: %w: %w", err, errdefs.ErrInvalidArgument)
		}
		if err := unpackEntry(tr, hdr, dir, opts); err != nil {
			return err
		}
	}
}

// cleanName turns an archive name into a path relative to the layer, or
// fails if it would leave it.
func cleanName(name string) (string, error) {
	trimmed := strings.TrimPrefix(name, "./")
	if trimmed == "" || trimmed == "." || trimmed == "./" {
		return ".", nil
	}
	for _, el := range strings.Split(trimmed, "/") {
		if el == ".." {
			return "", fmt.Errorf("archive entry %q leaves the layer (\"..\"): %w", name, errdefs.ErrInvalidArgument)
		}
	}
	clean := path.Clean(trimmed)
	if !filepath.IsLocal(clean) {
		return "", fmt.Errorf("archive entry %q is not a relative path: %w", name, errdefs.ErrInvalidArgument)
	}
	return clean, nil
}

func unpackEntry(r io.Reader, hdr *tar.Header, dir string, opts UnpackOptions) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	base := path.Base(name)
	// Whiteouts first: they name what they delete, not themselves.
	if base == opaqueWhiteout || strings.HasPrefix(base, whiteoutPrefix) {
		if opts.Rename != nil {
			return nil // copied files carry no deletions
		}
		parent := path.Dir(name)
		pdir, err := ensureParents(dir, path.Join(parent, "x"))
		if err != nil {
			return err
		}
		if base == opaqueWhiteout {
			if err := unix.Lsetxattr(filepath.Join(dir, parent), opaqueXattr, []byte("y"), 0); err != nil {
				return fmt.Errorf("mark %s opaque: %w", parent, err)
			}
			return nil
		}
		target := filepath.Join(pdir, strings.TrimPrefix(base, whiteoutPrefix))
		if err := removeExisting(target, false); err != nil {
			return err
		}
		if err := unix.Mknod(target, unix.S_IFCHR, 0); err != nil {
			return fmt.Errorf("whiteout %s: %w", name, err)
		}
		return nil
	}
	isDir := hdr.Typeflag == tar.TypeDir
	if opts.Rename != nil {
		var ok bool
		if name, ok = opts.Rename(name, isDir); !ok {
			return nil
		}
		if name, err = cleanName(name); err != nil {
			return err
		}
	}
	uid, gid := hdr.Uid, hdr.Gid
	if opts.Owner != nil {
		uid, gid = opts.Owner[0], opts.Owner[1]
	}
	if name == "." {
		if !isDir {
			return fmt.Errorf("archive entry %q: the layer's root must be a directory: %w", hdr.Name, errdefs.ErrInvalidArgument)
		}
		return setAttrs(dir, hdr, uid, gid)
	}
	if _, err := ensureParents(dir, name); err != nil {
		return err
	}
	target := filepath.Join(dir, name)
	switch hdr.Typeflag {
	case tar.TypeDir:
		if fi, err := os.Lstat(target); err == nil && fi.IsDir() {
			return setAttrs(target, hdr, uid, gid)
		}
		if err := removeExisting(target, false); err != nil {
			return err
		}
		if err := os.Mkdir(target, 0o755); err != nil {
			return fmt.Errorf("unpack %s: %w", name, err)
		}
	case tar.TypeReg, tar.TypeRegA:
		if err := removeExisting(target, true); err != nil {
			return err
		}
		f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			return fmt.Errorf("unpack %s: %w", name, err)
		}
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("unpack %s: %w", name, err)
		}
	case tar.TypeSymlink:
		// Stored as is: nothing here ever resolves a link in the layer, and
		// in the sandbox it resolves inside the sandbox's root.
		if err := removeExisting(target, true); err != nil {
			return err
		}
		if err := os.Symlink(hdr.Linkname, target); err != nil {
			return fmt.Errorf("unpack %s: %w", name, err)
		}
	case tar.TypeLink:
		src, err := cleanName(hdr.Linkname)
		if err != nil || src == "." {
			return fmt.Errorf("hard link %q -> %q points outside the layer: %w", hdr.Name, hdr.Linkname, errdefs.ErrInvalidArgument)
		}
		if opts.Rename != nil {
			var ok bool
			if src, ok = opts.Rename(src, false); !ok {
				return fmt.Errorf("hard link %q -> %q points outside the copied files: %w", hdr.Name, hdr.Linkname, errdefs.ErrInvalidArgument)
			}
		}
		if _, err := ensureParents(dir, src); err != nil {
			return err
		}
		fi, err := os.Lstat(filepath.Join(dir, src))
		if err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("hard link %q -> %q: the target is not a file earlier in this layer: %w", hdr.Name, hdr.Linkname, errdefs.ErrInvalidArgument)
		}
		if err := removeExisting(target, true); err != nil {
			return err
		}
		if err := os.Link(filepath.Join(dir, src), target); err != nil {
			return fmt.Errorf("unpack %s: %w", name, err)
		}
		return nil // the link shares the target's attributes
	case tar.TypeFifo:
		if err := removeExisting(target, true); err != nil {
			return err
		}
		if err := unix.Mkfifo(target, 0o600); err != nil {
			return fmt.Errorf("unpack %s: %w", name, err)
		}
	case tar.TypeChar, tar.TypeBlock:
		return fmt.Errorf("archive entry %q is a device node; templates may not carry devices (the runtime provides /dev): %w", hdr.Name, errdefs.ErrInvalidArgument)
	case tar.TypeXGlobalHeader:
		return nil
	default:
		return fmt.Errorf("archive entry %q has unsupported type %q: %w", hdr.Name, hdr.Typeflag, errdefs.ErrInvalidArgument)
	}
	if opts.Mode >= 0 && opts.Rename != nil && hdr.Typeflag != tar.TypeDir {
		h := *hdr
		h.Mode = opts.Mode
		hdr = &h
	}
	return setAttrs(target, hdr, uid, gid)
}

// ensureParents makes sure every directory above name exists in dir as a
// real directory (not a symbolic link, which could lead out of the layer),
// creating missing ones, and returns the parent's path.
func ensureParents(dir, name string) (string, error) {
	cur := dir
	parts := strings.Split(path.Dir(name), "/")
	if path.Dir(name) == "." {
		parts = nil
	}
	for _, p := range parts {
		cur = filepath.Join(cur, p)
		fi, err := os.Lstat(cur)
		switch {
		case errors.Is(err, os.ErrNotExist):
			if err := os.Mkdir(cur, 0o755); err != nil {
				return "", fmt.Errorf("unpack %s: %w", name, err)
			}
		case err != nil:
			return "", fmt.Errorf("unpack %s: %w", name, err)
		case fi.Mode()&os.ModeSymlink != 0:
			return "", fmt.Errorf("archive entry %q lies below a symbolic link: %w", name, errdefs.ErrInvalidArgument)
		case !fi.IsDir():
			return "", fmt.Errorf("archive entry %q lies below a non-directory: %w", name, errdefs.ErrInvalidArgument)
		}
	}
	return cur, nil
}

// removeExisting removes what is at target so a later entry can replace
// it; a directory is only removed when replacing it is allowed.
func removeExisting(target string, dirToo bool) error {
	fi, err := os.Lstat(target)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		if !dirToo {
			return nil
		}
		return os.RemoveAll(target)
	}
	return os.Remove(target)
}

// setAttrs gives target the entry's owner, mode and modification time.
func setAttrs(target string, hdr *tar.Header, uid, gid int) error {
	if err := os.Lchown(target, uid, gid); err != nil {
		return fmt.Errorf("chown %s: %w", hdr.Name, err)
	}
	if hdr.Typeflag != tar.TypeSymlink {
		// After chown, which clears setuid bits.
		mode := uint32(hdr.Mode & 0o7777)
		if err := unix.Fchmodat(unix.AT_FDCWD, target, mode, 0); err != nil {
			return fmt.Errorf("chmod %s: %w", hdr.Name, err)
		}
	}
	if !hdr.ModTime.IsZero() {
		ts := []unix.Timespec{unix.NsecToTimespec(hdr.ModTime.UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, target, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("set times of %s: %w", hdr.Name, err)
		}
	}
	return nil
}
