package oci

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// account is a user inside a sandbox.
type account struct {
	name     string
	uid, gid uint32
	home     string
	groups   []uint32
}

// lookupUser resolves a user name or numeric uid from the sandbox's
// /etc/passwd and /etc/group.
func lookupUser(rootfs, user string) (account, error) {
	passwd, err := readInRoot(rootfs, "/etc/passwd")
	if err != nil {
		return account{}, err
	}
	for _, line := range strings.Split(passwd, "\n") {
		f := strings.Split(line, ":")
		if len(f) < 7 {
			continue
		}
		if f[0] != user && f[2] != user {
			continue
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		a := account{name: f[0], uid: uint32(uid), gid: uint32(gid), home: f[5]}
		if a.home == "" {
			a.home = "/"
		}
		if group, err := readInRoot(rootfs, "/etc/group"); err == nil {
			a.groups = supplementaryGroups(group, a.name)
		}
		return a, nil
	}
	if uid, err := strconv.ParseUint(user, 10, 32); err == nil && uid < idRange {
		// A uid without a passwd entry runs as itself, like docker exec -u.
		return account{name: user, uid: uint32(uid), gid: uint32(uid), home: "/"}, nil
	}
	return account{}, fmt.Errorf("user %q does not exist in the sandbox: %w", user, errdefs.ErrNotFound)
}

func supplementaryGroups(group, name string) []uint32 {
	var out []uint32
	sc := bufio.NewScanner(strings.NewReader(group))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 4 {
			continue
		}
		for _, m := range strings.Split(f[3], ",") {
			if m == name {
				if gid, err := strconv.ParseUint(f[2], 10, 32); err == nil {
					out = append(out, uint32(gid))
				}
			}
		}
	}
	return out
}

// readInRoot reads a file of the sandbox's filesystem from the host,
// resolving symlinks as if rootfs were /, so a sandbox that made
// /etc/passwd a link to a host path still only ever reads its own files.
func readInRoot(rootfs, path string) (string, error) {
	dirfd, err := unix.Open(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("open sandbox root: %w", err)
	}
	defer unix.Close(dirfd)
	fd, err := unix.Openat2(dirfd, strings.TrimPrefix(path, "/"), &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
	if err != nil {
		return "", fmt.Errorf("read %s in sandbox: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	// passwd files are small; a huge one is an attack on the host's memory.
	b, err := io.ReadAll(io.LimitReader(f, 4<<20))
	if err != nil {
		return "", fmt.Errorf("read %s in sandbox: %w", path, err)
	}
	return string(b), nil
}
