package oci

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// criuMinVersion is the oldest CRIU that checkpoints a sandbox on the
// kernels SoulBox runs on: 3.x fails on 6.x kernels, and 4.1 cannot save
// a TCP socket on 6.16 and later (it asks for SO_PASSCRED, which those
// kernels refuse on anything but Unix and netlink sockets).
var criuMinVersion = [2]int{4, 2}

// criuCandidates are where CRIU is looked for, in order: scripts/setup.sh
// links the one it builds into /usr/local/sbin, ahead of a distribution's
// older package in /usr/sbin.
var criuCandidates = []string{"/usr/local/sbin/criu", "criu"}

var criuFound struct {
	once sync.Once
	path string
	err  error
}

// criuBinary returns the path of a CRIU recent enough to checkpoint
// sandboxes, found once per process.
func criuBinary() (string, error) {
	criuFound.once.Do(func() {
		var seen []string
		for _, c := range criuCandidates {
			path, err := exec.LookPath(c)
			if err != nil {
				continue
			}
			// runc runs it by its name (criuCmd), which a link's
			// target may not keep.
			if abs, err := filepath.EvalSymlinks(path); err == nil && filepath.Base(abs) == "criu" {
				path = abs
			}
			v, err := criuVersion(path)
			if err != nil {
				seen = append(seen, fmt.Sprintf("%s (%v)", path, err))
				continue
			}
			if versionAtLeast(v, criuMinVersion) {
				criuFound.path = path
				return
			}
			seen = append(seen, fmt.Sprintf("%s is %d.%d", path, v[0], v[1]))
		}
		found := "none installed"
		if len(seen) > 0 {
			found = strings.Join(seen, ", ")
		}
		criuFound.err = fmt.Errorf("checkpoint needs CRIU %d.%d or later (%s): run scripts/setup.sh, which builds one: %w",
			criuMinVersion[0], criuMinVersion[1], found, errdefs.ErrFailedPrecondition)
	})
	return criuFound.path, criuFound.err
}

// criuVersion runs `criu --version` and reads "Version: X.Y[.Z]".
func criuVersion(path string) ([2]int, error) {
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return [2]int{}, err
	}
	return parseCRIUVersion(string(out))
}

func parseCRIUVersion(out string) ([2]int, error) {
	for _, line := range strings.Split(out, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "Version:")
		if !ok {
			continue
		}
		parts := strings.SplitN(strings.TrimSpace(v), ".", 3)
		if len(parts) < 2 {
			break
		}
		major, err1 := strconv.Atoi(parts[0])
		digits := parts[1]
		if i := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			digits = digits[:i] // "2-rc1"
		}
		minor, err2 := strconv.Atoi(digits)
		if err1 != nil || err2 != nil {
			break
		}
		return [2]int{major, minor}, nil
	}
	return [2]int{}, fmt.Errorf("unreadable version %q", strings.TrimSpace(out))
}

func versionAtLeast(v, min [2]int) bool {
	return v[0] > min[0] || v[0] == min[0] && v[1] >= min[1]
}

// criuConfigAnnotation names, in a sandbox's config.json, the CRIU
// configuration file runc hands CRIU on checkpoint and restore. The driver
// rewrites the file before each: it lists the sandbox's files that live
// outside its mount namespace (see external.go).
const criuConfigAnnotation = "org.criu.config"

func (d *Driver) criuConfigPath(id string) string {
	return filepath.Join(d.sandboxDir(id), "criu.conf")
}

// writeCRIUConfig writes the sandbox's CRIU configuration, one option a
// line as CRIU reads it.
func (d *Driver) writeCRIUConfig(id string, lines []string) error {
	// One option a line: a line break or NUL inside one would smuggle in
	// another.
	for _, l := range lines {
		if hasControl(l) {
			return fmt.Errorf("CRIU option %q holds a control character: %w", l, errdefs.ErrInvalidArgument)
		}
	}
	body := strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(d.criuConfigPath(id), []byte(body), 0o600); err != nil {
		return fmt.Errorf("write CRIU configuration: %w", err)
	}
	return nil
}

// cgroupYardOption points CRIU at the host's own cgroup mounts. Without it
// CRIU mounts every hierarchy again under its work directory, in the
// host's mount namespace, for as long as it runs: a program reading the
// mount table meanwhile (another driver starting) may take those mounts
// for the host's and lose its cgroups when CRIU removes them.
func (d *Driver) cgroupYardOption() string {
	return "cgroup-yard " + cgroupRoot
}
