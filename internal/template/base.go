package template

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// The unprivileged user agents work as, matching E2B's sandboxes.
const (
	userName    = "user"
	userID      = 1000
	sudoersFile = "etc/sudoers.d/soulbox-user"
)

// buildBase fills rootfs with the base template: a minimal Debian plus
// basePackages, a passwordless-sudo user "user", and no apt caches.
func (s *Store) buildBase(ctx context.Context, rootfs string) error {
	out := newLineWriter(s.out, "template base: ")
	defer out.Flush()
	r := s.recipes["base"]

	if err := checkKeyring(s.keyring); err != nil {
		return err
	}
	out.Printf("debootstrap %s from %s, verified with %s", r.Suite, s.mirror, s.keyring)
	err := run(ctx, out, "debootstrap", debootstrapArgs(r, rootfs, s.mirror, s.keyring)...)
	if err != nil {
		// debootstrap's log says why; it goes away with the failed build.
		printLogTail(out, filepath.Join(rootfs, "debootstrap", "debootstrap.log"), 30)
		return err
	}
	if err := configureBase(ctx, out, rootfs); err != nil {
		return err
	}
	return verifyBase(rootfs)
}

// debootstrapArgs are the arguments of the debootstrap that builds r into
// rootfs. The Release file must carry a valid signature by a key of
// keyring (--force-check-gpg turns debootstrap's warning about an
// unverifiable Release into a refusal); the packages are then checked
// against the hashes it lists, so nothing unsigned reaches the template.
func debootstrapArgs(r recipe, rootfs, mirror, keyring string) []string {
	return []string{
		"--variant=" + r.Variant,
		"--include=" + strings.Join(r.Packages, ","),
		"--keyring=" + keyring,
		"--force-check-gpg",
		r.Suite, rootfs, mirror,
	}
}

// checkKeyring fails unless keyring is a readable, non-empty file:
// debootstrap would otherwise skip the signature check with a warning.
func checkKeyring(keyring string) error {
	st, err := os.Stat(keyring)
	if err == nil && !st.Mode().IsRegular() {
		err = errors.New("not a regular file")
	} else if err == nil && st.Size() == 0 {
		err = errors.New("empty")
	}
	if err != nil {
		return fmt.Errorf("archive keyring %s: %v: install debian-archive-keyring (or pass the keyring of your mirror) so the template's packages can be verified: %w",
			keyring, err, errdefs.ErrFailedPrecondition)
	}
	return nil
}

// configureBase runs the setup steps after debootstrap. Changing them means
// bumping baseRevision.
func configureBase(ctx context.Context, out *lineWriter, rootfs string) error {
	chroot := func(args ...string) error {
		return run(ctx, out, "chroot", append([]string{rootfs}, args...)...)
	}
	at := func(p string) string { return filepath.Join(rootfs, p) }

	out.Printf("adding user %s (uid %d) with passwordless sudo", userName, userID)
	uid := fmt.Sprint(userID)
	if err := chroot("useradd", "-m", "-u", uid, "-U", "-s", "/bin/bash", userName); err != nil {
		return err
	}
	if err := chroot("usermod", "-aG", "sudo", userName); err != nil {
		return err
	}
	if err := writePublicFile(at(sudoersFile), userName+" ALL=(ALL:ALL) NOPASSWD: ALL\n", 0o440); err != nil {
		return err
	}
	// A broken sudoers file disables sudo entirely; catch it at build time.
	if err := chroot("visudo", "-c", "-f", "/"+sudoersFile); err != nil {
		return err
	}

	// The first plot in a fresh home builds matplotlib's font cache, and
	// IPython makes its profile: seconds of the first code cell, paid in
	// every sandbox (and every pooled one) unless done once here.
	out.Printf("warming the code interpreter's caches for %s", userName)
	if err := chroot("/usr/sbin/runuser", "-u", userName, "--", "/usr/bin/env", "-i",
		"HOME=/home/"+userName, "PATH=/usr/local/bin:/usr/bin:/bin", "MPLBACKEND=Agg",
		"python3", "-c", "import matplotlib.pyplot; from IPython.core.interactiveshell import InteractiveShell; InteractiveShell.instance()"); err != nil {
		return err
	}

	// Every command the SDKs run is a login shell, and Debian's
	// /etc/profile forks id(1) to learn the uid bash already knows: a
	// millisecond or two per command, for nothing.
	out.Printf("sparing login shells a fork of id(1)")
	if err := replaceInFile(at("etc/profile"), `"$(id -u)"`, `"${EUID:-$(id -u)}"`); err != nil {
		return err
	}

	out.Printf("cleaning apt caches")
	if err := chroot("apt-get", "clean"); err != nil {
		return err
	}
	if err := removeAptLists(at("var/lib/apt/lists")); err != nil {
		return err
	}
	bins, _ := filepath.Glob(at("var/cache/apt/*.bin"))
	for _, b := range bins {
		if err := os.Remove(b); err != nil {
			return fmt.Errorf("remove apt cache: %w", err)
		}
	}

	out.Printf("writing /etc/hostname, /etc/hosts, /etc/resolv.conf")
	// debootstrap copied the build host's hostname and resolv.conf; neither
	// belongs in a sandbox. The runtime sets the hostname and may bind-mount
	// these files, which needs them to exist as regular files.
	if err := writePublicFile(at("etc/hostname"), "localhost\n", 0o644); err != nil {
		return err
	}
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	if err := writePublicFile(at("etc/hosts"), hosts, 0o644); err != nil {
		return err
	}
	if err := writePublicFile(at("etc/resolv.conf"), "# provided by the SoulBox runtime at sandbox start\n", 0o644); err != nil {
		return err
	}
	return ensurePythonLink(at("usr/bin/python"))
}

// replaceInFile replaces every old with new in the file at path, which
// must contain old.
func replaceInFile(path, old, new string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !strings.Contains(string(b), old) {
		return fmt.Errorf("%s: %q not found", path, old)
	}
	return os.WriteFile(path, []byte(strings.ReplaceAll(string(b), old, new)), 0o644)
}

// removeAptLists empties apt's package lists (tens of MB, stale by the time a
// sandbox runs apt-get update anyway), keeping the lock and partial/ that
// apt expects to exist.
func removeAptLists(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("clean apt lists: %w", err)
	}
	for _, e := range entries {
		if e.Name() == "partial" || e.Name() == "lock" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("clean apt lists: %w", err)
		}
	}
	return nil
}

// ensurePythonLink makes `python` run python3 even if python-is-python3
// did not provide the link.
func ensurePythonLink(link string) error {
	if _, err := os.Lstat(link); err == nil {
		return nil
	}
	if err := os.Symlink("python3", link); err != nil {
		return fmt.Errorf("link python to python3: %w", err)
	}
	return nil
}

// verifyBase fails the build if something agents rely on is missing, so a
// silently incomplete rootfs never counts as built. Lstat, because absolute
// symlinks in the rootfs would resolve against the host.
func verifyBase(rootfs string) error {
	var missing []string
	for _, p := range []string{
		"usr/bin/bash", "usr/bin/python3", "usr/bin/python", "usr/bin/node",
		"usr/bin/git", "usr/bin/curl", "usr/bin/sudo", "home/user", sudoersFile,
		"usr/lib/python3/dist-packages/numpy",
		"usr/lib/python3/dist-packages/pandas",
		"usr/lib/python3/dist-packages/matplotlib",
		"usr/lib/python3/dist-packages/IPython",
		"usr/lib/python3/dist-packages/matplotlib_inline",
	} {
		if _, err := os.Lstat(filepath.Join(rootfs, p)); err != nil {
			missing = append(missing, "/"+p)
		}
	}
	if len(missing) > 0 {
		return errors.New("base rootfs is incomplete, missing " + strings.Join(missing, ", "))
	}
	return nil
}

// printLogTail copies the last n lines of the file at path to out.
func printLogTail(out *lineWriter, path string, n int) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out.Printf("last lines of %s:", path)
	for _, l := range lines {
		out.Printf("  %s", l)
	}
}
