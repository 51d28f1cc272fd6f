package oci

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// attachLoop attaches image to a free loop device and returns the device
// path and an open handle on it. The device detaches itself when its last
// user goes away, so unmounting is the only cleanup a sandbox disk needs;
// the caller closes the handle only after mounting the device, or the
// device would be gone before the mount holds it.
func attachLoop(image string) (string, *os.File, error) {
	img, err := os.OpenFile(image, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("open disk image: %w", err)
	}
	defer img.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("open loop control: %w", err)
	}
	defer ctl.Close()
	// Another process may take the free device between GET_FREE and
	// CONFIGURE; then the configure fails with EBUSY and we ask again.
	for attempt := 0; attempt < 32; attempt++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return "", nil, fmt.Errorf("find free loop device: %w", err)
		}
		dev := fmt.Sprintf("/dev/loop%d", n)
		f, err := openLoopDevice(dev, n)
		if err != nil {
			return "", nil, err
		}
		cfg := unix.LoopConfig{
			Fd: uint32(img.Fd()),
			Info: unix.LoopInfo64{
				Flags: unix.LO_FLAGS_AUTOCLEAR,
			},
		}
		copy(cfg.Info.File_name[:], filepath.Base(image))
		err = unix.IoctlLoopConfigure(int(f.Fd()), &cfg)
		if errors.Is(err, unix.EBUSY) {
			f.Close()
			continue
		}
		if err != nil {
			f.Close()
			return "", nil, fmt.Errorf("configure %s: %w", dev, err)
		}
		return dev, f, nil
	}
	return "", nil, errors.New("configure loop device: every free device was taken concurrently")
}

// openLoopDevice opens /dev/loopN, creating the node when /dev is not a
// devtmpfs that would show it by itself.
func openLoopDevice(dev string, n int) (*os.File, error) {
	f, err := os.OpenFile(dev, os.O_RDWR|unix.O_CLOEXEC, 0)
	if errors.Is(err, os.ErrNotExist) {
		if err := unix.Mknod(dev, unix.S_IFBLK|0o660, int(unix.Mkdev(7, uint32(n)))); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create %s: %w", dev, err)
		}
		f, err = os.OpenFile(dev, os.O_RDWR|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dev, err)
	}
	return f, nil
}
