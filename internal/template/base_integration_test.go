package template

import (
	"cmp"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/testutil"
)

// TestBaseTemplate builds (or finds) the real base template in the shared
// cache other packages' tests use, so that they find it warm.
func TestBaseTemplate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 1.7 GB rootfs from the network")
	}
	testutil.RequiresRoot(t)
	testutil.RequiresBinary(t, "debootstrap")
	dir := cmp.Or(os.Getenv("SOULBOX_TEMPLATE_CACHE"), "/var/lib/soulbox/templates")
	s, err := New(dir, Options{
		Logger:   slog.New(slog.NewTextHandler(t.Output(), nil)),
		Progress: t.Output(),
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	tpl, err := s.Ensure(t.Context(), "code-interpreter-v1")
	t.Logf("Ensure took %s: %+v", time.Since(start).Round(time.Second), tpl)
	if left, merr := mountsUnder(dir); merr != nil || len(left) > 0 {
		t.Errorf("mounts left under %s: %q %v", dir, left, merr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(tpl.Layers) != 1 {
		t.Fatalf("Layers = %q; want one", tpl.Layers)
	}
	rootfs := tpl.Layers[0]
	at := func(p string) string { return filepath.Join(rootfs, p) }

	for _, p := range []string{
		"usr/bin/python3", "usr/bin/node", "usr/bin/git", "usr/bin/curl", "usr/bin/sudo",
		"usr/lib/python3/dist-packages/numpy",
		"usr/lib/python3/dist-packages/pandas",
		"usr/lib/python3/dist-packages/matplotlib",
	} {
		if _, err := os.Lstat(at(p)); err != nil {
			t.Errorf("missing /%s: %v", p, err)
		}
	}
	if target, err := os.Readlink(at("usr/bin/python")); err != nil || filepath.Base(target) != "python3" {
		t.Errorf("/usr/bin/python -> %q, %v; want python3", target, err)
	}

	passwd, err := os.ReadFile(at("etc/passwd"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, line := range strings.Split(string(passwd), "\n") {
		if strings.HasPrefix(line, "user:") {
			found = true
			f := strings.Split(line, ":")
			if len(f) != 7 || f[2] != "1000" || f[3] != "1000" || f[5] != "/home/user" || f[6] != "/bin/bash" {
				t.Errorf("/etc/passwd: %q; want user:x:1000:1000:...:/home/user:/bin/bash", line)
			}
		}
	}
	if !found {
		t.Error("no user in /etc/passwd")
	}
	group, err := os.ReadFile(at("etc/group"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(group), "\nsudo:x:27:user\n") {
		t.Error("user is not in group sudo")
	}

	fi, err := os.Stat(at("home/user"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 1000 || st.Gid != 1000 {
		t.Errorf("/home/user owned by %d:%d; want 1000:1000", st.Uid, st.Gid)
	}
	fi, err = os.Lstat(at(sudoersFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o440 {
		t.Errorf("/%s has mode %v; want 0440", sudoersFile, fi.Mode())
	}
	if fi, err := os.Lstat(at("etc/resolv.conf")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("/etc/resolv.conf is not a regular file: %v %v", fi, err)
	}
	for _, p := range []string{dir, filepath.Dir(filepath.Dir(rootfs)), filepath.Dir(rootfs), rootfs} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: mode %v, %v; want 0755", p, fi.Mode().Perm(), err)
		}
	}
	if lists, _ := filepath.Glob(at("var/lib/apt/lists/*_Packages")); len(lists) > 0 {
		t.Errorf("apt lists not cleaned: %q", lists)
	}
	t.Logf("base %s: %s, %d MB", tpl.BuildID, rootfs, tpl.SizeBytes>>20)
}
