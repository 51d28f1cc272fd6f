package oci

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/mountinfo"
)

func (d *Driver) diskImage(id string) string { return filepath.Join(d.sandboxDir(id), "disk.img") }
func (d *Driver) diskDir(id string) string   { return filepath.Join(d.sandboxDir(id), "disk") }
func (d *Driver) rootfsDir(id string) string { return filepath.Join(d.sandboxDir(id), "rootfs") }
func (d *Driver) lowerDir(id string, n int) string {
	return filepath.Join(d.sandboxDir(id), "lower"+strconv.Itoa(n))
}

// makeDisk creates the sandbox's writable layer: a sparse ext4 image of
// sizeMB (a copy of the blank image of that size), mounted at disk/,
// holding upper/ (owned by the sandbox's root) and work/. The image's
// size is the sandbox's disk quota.
func (d *Driver) makeDisk(id string, sizeMB int, hostUID uint32) error {
	img := d.diskImage(id)
	if err := d.makeDiskImage(img, sizeMB); err != nil {
		return err
	}
	dev, loopFile, err := attachLoop(img)
	if err != nil {
		return err
	}
	// Closing the last handle of an unmounted auto-clearing loop device
	// detaches it: this covers the failure paths below too.
	defer loopFile.Close()
	if err := os.Mkdir(d.diskDir(id), 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create disk mount point: %w", err)
	}
	// noinit_itable: the kernel would otherwise zero the image's inode
	// tables in the background after every mount, work (and writes) a
	// layer that lives as long as its sandbox has no use for.
	if err := unix.Mount(dev, d.diskDir(id), "ext4", unix.MS_NOSUID|unix.MS_NODEV, "noinit_itable"); err != nil {
		return fmt.Errorf("mount disk image: %w", err)
	}
	upper := filepath.Join(d.diskDir(id), "upper")
	for _, dir := range []string{upper, filepath.Join(d.diskDir(id), "work")} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fmt.Errorf("create overlay directory: %w", err)
		}
	}
	// The overlay's root directory takes its owner from upper/: it must be
	// the sandbox's root, not the host's.
	if err := os.Chown(upper, int(hostUID), int(hostUID)); err != nil {
		return fmt.Errorf("chown upper layer: %w", err)
	}
	return nil
}

// mountRootfs composes the template layers (idmapped to hostUID) and the
// upper layer into the sandbox's root filesystem.
func (d *Driver) mountRootfs(id string, layers []string, hostUID uint32) error {
	userns, err := d.userns.get(hostUID)
	if err != nil {
		return err
	}
	defer unix.Close(userns)
	lowers := make([]string, len(layers))
	for i, layer := range layers {
		lowers[i] = d.lowerDir(id, i)
		if err := os.Mkdir(lowers[i], 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create layer mount point: %w", err)
		}
		if err := idmapMount(layer, lowers[i], userns); err != nil {
			return err
		}
	}
	if err := os.Mkdir(d.rootfsDir(id), 0o711); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create rootfs mount point: %w", err)
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s",
		strings.Join(lowers, ":"), filepath.Join(d.diskDir(id), "upper"), filepath.Join(d.diskDir(id), "work"))
	if err := unix.Mount("overlay", d.rootfsDir(id), "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay: %w", err)
	}
	return nil
}

// unmountAll lazily unmounts every mount under the sandbox's directory,
// deepest first. The rootfs overlay goes before the layers and the disk it
// stands on; the disk's loop device detaches itself.
func (d *Driver) unmountAll(id string) error {
	mounts, err := mountsUnder(d.sandboxDir(id))
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range mounts {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
		}
	}
	return errors.Join(errs...)
}

// mountsUnder lists the mount points at or below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	out, err := mountinfo.Under(dir)
	if err != nil {
		return nil, err
	}
	// Deeper paths and later mounts first: the overlay (rootfs) depends on
	// the layers and the disk, and it sorts after them by name, so sort by
	// depth, then put rootfs before its siblings.
	sort.SliceStable(out, func(i, j int) bool {
		di, dj := strings.Count(out[i], "/"), strings.Count(out[j], "/")
		if di != dj {
			return di > dj
		}
		return strings.HasSuffix(out[i], "/rootfs") && !strings.HasSuffix(out[j], "/rootfs")
	})
	return out, nil
}
