package layer

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/testutil"
)

type entry struct {
	name, link, body string
	typ              byte
	mode             int64
}

func archive(t *testing.T, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: mode, Size: int64(len(e.body)), Uid: 1000, Gid: 1000}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return &buf
}

func TestUnpackRefusesEscapes(t *testing.T) {
	testutil.RequiresRoot(t)
	outside := t.TempDir()
	for name, entries := range map[string][]entry{
		"dotdot":            {{name: "../escape", typ: tar.TypeReg, body: "x"}},
		"inner dotdot":      {{name: "etc/../../escape", typ: tar.TypeReg, body: "x"}},
		"absolute":          {{name: "/escape", typ: tar.TypeReg, body: "x"}},
		"below symlink":     {{name: "out", typ: tar.TypeSymlink, link: outside}, {name: "out/escape", typ: tar.TypeReg, body: "x"}},
		"hard link outside": {{name: "passwd", typ: tar.TypeLink, link: "../../../etc/passwd"}},
		"hard link to host": {{name: "passwd", typ: tar.TypeLink, link: "etc/passwd"}},
		"char device":       {{name: "dev/mem", typ: tar.TypeChar}},
		"block device":      {{name: "dev/sda", typ: tar.TypeBlock}},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			err := Unpack(archive(t, entries...), dir, UnpackOptions{})
			if !errdefs.IsInvalidArgument(err) {
				t.Fatalf("unpack: %v, want invalid argument", err)
			}
			if left, _ := os.ReadDir(outside); len(left) > 0 {
				t.Errorf("wrote outside the layer: %v", left)
			}
			if _, err := os.Lstat(filepath.Join(filepath.Dir(dir), "escape")); err == nil {
				t.Errorf("wrote next to the layer")
			}
		})
	}
}

func TestUnpackWhiteoutsAndLinks(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := t.TempDir()
	err := Unpack(archive(t,
		entry{name: "./etc/", typ: tar.TypeDir, mode: 0o755},
		entry{name: "./etc/motd", typ: tar.TypeReg, body: "hi", mode: 0o640},
		entry{name: "./etc/motd2", typ: tar.TypeLink, link: "etc/motd"},
		entry{name: "./bin/sh", typ: tar.TypeSymlink, link: "/bin/busybox"},
		entry{name: "./var/.wh.cache", typ: tar.TypeReg},
		entry{name: "./opt/.wh..wh..opq", typ: tar.TypeReg},
	), dir, UnpackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, "var/cache"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("whiteout var/cache: %v, mode %o rdev %d; want a 0:0 character device", err, st.Mode, st.Rdev)
	}
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(filepath.Join(dir, "opt"), opaqueXattr, buf)
	if err != nil || string(buf[:n]) != "y" {
		t.Errorf("opaque opt: %q, %v", buf[:n], err)
	}
	a, _ := os.Stat(filepath.Join(dir, "etc/motd"))
	b, _ := os.Stat(filepath.Join(dir, "etc/motd2"))
	if !os.SameFile(a, b) || a.Mode().Perm() != 0o640 {
		t.Errorf("hard link not shared or mode %v", a.Mode())
	}
	if l, _ := os.Readlink(filepath.Join(dir, "bin/sh")); l != "/bin/busybox" {
		t.Errorf("symlink: %q", l)
	}
	var s2 unix.Stat_t
	unix.Lstat(filepath.Join(dir, "etc/motd"), &s2)
	if s2.Uid != 1000 {
		t.Errorf("owner %d, want the archive's 1000", s2.Uid)
	}
}
