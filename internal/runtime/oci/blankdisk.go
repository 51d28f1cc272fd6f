package oci

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// mkfsArgs formats a sandbox's writable layer. No journal: the layer dies
// with the sandbox, so crash consistency buys nothing. No reserved blocks:
// the quota is what the user asked. No resize inode: a sandbox's disk is
// never grown while mounted, and the descriptor blocks it reserves for
// that are most of a blank image's written blocks (4.3 MB of 4.5 for
// 10 GiB), which every create copies. Changing them must change
// blankDiskVersion, or sandboxes keep getting copies of the old format.
var mkfsArgs = []string{"-q", "-F", "-O", "^has_journal,^resize_inode", "-m", "0",
	"-E", "nodiscard,lazy_itable_init=1,root_owner=0:0"}

// blankDiskVersion names the format of the blank images in blankDir.
const blankDiskVersion = "2"

// maxBlankDisks bounds the blank images kept, one per disk size: sizes
// beyond the first few are formatted for their sandbox alone.
const maxBlankDisks = 8

func (d *Driver) blankDir() string { return filepath.Join(d.root, "disks") }

// makeDiskImage creates the sandbox's image at img: a copy of the blank
// image of sizeMB, or formatted in place when no more sizes are kept.
func (d *Driver) makeDiskImage(img string, sizeMB int) error {
	blank, err := d.blankDisk(sizeMB)
	if err != nil {
		return err
	}
	if blank == "" {
		return formatImage(img, sizeMB, os.O_EXCL)
	}
	if err := copySparse(blank, img); err != nil {
		return fmt.Errorf("create disk image: %w", err)
	}
	return nil
}

// formatImage creates (flag os.O_EXCL) or reuses an image file of sizeMB
// and formats it.
func formatImage(path string, sizeMB int, flag int) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|flag, 0o600)
	if err != nil {
		return fmt.Errorf("create disk image: %w", err)
	}
	err = f.Truncate(int64(sizeMB) << 20)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("size disk image: %w", err)
	}
	out, err := exec.Command("mkfs.ext4", append(mkfsArgs, path)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("format disk image: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// blankDisk returns a freshly formatted, empty ext4 image of sizeMB,
// formatted once per size and kept under blankDir: copying its few
// megabytes of metadata costs a sandbox a fraction of what running
// mkfs.ext4 does (a process, and formatting from scratch). Every copy has
// the blank image's filesystem UUID, which ext4 does not need to be
// unique, and no copy is ever written back. The caller must not change
// the file. It returns "" when maxBlankDisks sizes are kept already.
func (d *Driver) blankDisk(sizeMB int) (string, error) {
	name := filepath.Join(d.blankDir(), "blank-v"+blankDiskVersion+"-"+strconv.Itoa(sizeMB)+"M.img")
	if _, err := os.Stat(name); err == nil {
		return name, nil
	}
	d.blankMu.Lock()
	defer d.blankMu.Unlock()
	if _, err := os.Stat(name); err == nil {
		return name, nil // formatted by the create we waited for
	}
	if err := os.MkdirAll(d.blankDir(), 0o700); err != nil {
		return "", fmt.Errorf("create blank disk directory: %w", err)
	}
	if kept, _ := filepath.Glob(filepath.Join(d.blankDir(), "blank-v"+blankDiskVersion+"-*.img")); len(kept) >= maxBlankDisks {
		return "", nil
	}
	// Formatted under a temporary name and renamed: a crash half-way
	// never leaves a half-formatted image under the name that is used.
	tmp, err := os.CreateTemp(d.blankDir(), ".blank-*")
	if err != nil {
		return "", fmt.Errorf("create blank disk: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("create blank disk: %w", err)
	}
	if err := formatImage(tmp.Name(), sizeMB, 0); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return "", fmt.Errorf("keep blank disk: %w", err)
	}
	return name, nil
}

// copySparse creates dst as a copy of src that keeps src's holes: only
// the extents holding data are copied (in the kernel), so a copy of a
// blank image costs its metadata, not its size.
func copySparse(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	size := st.Size()
	if err := out.Truncate(size); err != nil {
		return err
	}
	for off := int64(0); off < size; {
		data, err := unix.Seek(int(in.Fd()), off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			return nil // only a hole is left
		}
		if err != nil {
			return fmt.Errorf("find data: %w", err)
		}
		hole, err := unix.Seek(int(in.Fd()), data, unix.SEEK_HOLE)
		if err != nil {
			return fmt.Errorf("find hole: %w", err)
		}
		if err := copyRange(in, out, data, hole-data); err != nil {
			return err
		}
		off = hole
	}
	return nil
}

// copyRange copies n bytes at off from in to the same offset of out.
func copyRange(in, out *os.File, off, n int64) error {
	for n > 0 {
		roff, woff := off, off
		c, err := unix.CopyFileRange(int(in.Fd()), &roff, int(out.Fd()), &woff, int(min(n, 1<<30)), 0)
		if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
			_, err = io.Copy(io.NewOffsetWriter(out, off), io.NewSectionReader(in, off, n))
			return err
		}
		if err != nil {
			return fmt.Errorf("copy disk image: %w", err)
		}
		if c == 0 {
			return fmt.Errorf("copy disk image: source ended early")
		}
		off += int64(c)
		n -= int64(c)
	}
	return nil
}
