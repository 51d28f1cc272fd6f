package escape_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/soulbox/soulbox/internal/runtime/runtimetest"
)

// hostFiles are host settings a sandbox must never change. Each is read
// before and after every attempt.
var hostFiles = []string{
	"/proc/sys/kernel/core_pattern",
	"/proc/sys/kernel/modprobe",
	"/proc/sys/kernel/hostname",
	"/proc/sys/kernel/domainname",
	"/proc/sys/kernel/sysrq",
	"/proc/sys/kernel/perf_event_paranoid",
	"/proc/sys/kernel/unprivileged_bpf_disabled",
	"/proc/sys/user/max_user_namespaces",
	"/proc/sys/vm/swappiness",
	"/proc/sys/fs/protected_hardlinks",
	"/proc/sys/fs/protected_symlinks",
	"/sys/kernel/mm/transparent_hugepage/enabled",
	"/sys/kernel/uevent_helper",
}

// hostState is what the host looks like from outside every sandbox.
type hostState map[string]string

// snapshot reads the host: its settings, its loaded modules, the
// release_agent of every cgroup hierarchy, the sysrq lines of the kernel
// log, the agent binary and template files sandboxes share, the admin
// key, and the limits of the sandboxes' own cgroups (by host path).
func (e *env) snapshot() hostState {
	s := hostState{}
	for _, f := range hostFiles {
		if b, err := os.ReadFile(f); err == nil {
			s[f] = string(b)
		}
	}
	s["modules"] = moduleNames()
	for _, mnt := range runtimetest.CgroupMounts() {
		if b, err := os.ReadFile(filepath.Join(mnt, "release_agent")); err == nil {
			s["release_agent "+mnt] = string(b)
		}
	}
	s["sysrq lines in the kernel log"] = fmt.Sprint(sysrqLines())
	s["agent binary"] = hashFile(filepath.Join(e.srv.RuntimeRoot(), "bin", "soulbox-agent"))
	s["template /etc/passwd"] = hashFile(e.templatePasswd)
	s["admin.key"] = hashFile(filepath.Join(e.srv.DataDir, "admin.key"))
	for _, id := range e.sandboxIDs() {
		for _, dir := range runtimetest.CgroupsNaming(id) {
			for _, f := range []string{"pids.max", "memory.limit_in_bytes", "memory.max", "cpu.cfs_quota_us", "cpu.max", "devices.list"} {
				if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
					s[filepath.Join(dir, f)] = string(b)
				}
			}
		}
	}
	return s
}

// diff describes what changed between two snapshots.
func (a hostState) diff(b hostState) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; ok && w != v {
			out = append(out, fmt.Sprintf("%s changed from %q to %q", k, v, w))
		}
	}
	sort.Strings(out)
	return out
}

// restore writes back host settings an attempt changed, so that a failed
// case does not harm the host for the next one.
func (a hostState) restore(b hostState) {
	for _, f := range hostFiles {
		if v, ok := a[f]; ok && b[f] != v {
			_ = os.WriteFile(f, []byte(v), 0)
		}
	}
}

func moduleNames() string {
	b, _ := os.ReadFile("/proc/modules")
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

func sysrqLines() int {
	out, err := exec.Command("dmesg").Output()
	if err != nil {
		return -1
	}
	return strings.Count(strings.ToLower(string(out)), "sysrq")
}

func hashFile(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return "unreadable: " + err.Error()
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// traces lists where the host shows the nonce an attempt used in the
// names it tried to create: mounts, keys, network links, bpf pins,
// cgroups, files in /tmp and the data dir.
func (e *env) traces(nonce string) []string {
	var out []string
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, nonce) {
				out = append(out, "mount: "+l)
			}
		}
	}
	if b, err := os.ReadFile("/proc/keys"); err == nil && strings.Contains(string(b), nonce) {
		out = append(out, "a key in /proc/keys")
	}
	if b, err := exec.Command("ip", "-o", "link").Output(); err == nil && strings.Contains(string(b), nonce) {
		out = append(out, "a network link")
	}
	for _, pattern := range []string{"/sys/fs/bpf/*" + nonce + "*", "/tmp/*" + nonce + "*", "/*" + nonce + "*",
		e.srv.DataDir + "/*" + nonce + "*", e.srv.DataDir + "/runtime/*" + nonce + "*"} {
		m, _ := filepath.Glob(pattern)
		for _, p := range m {
			out = append(out, "file "+p)
		}
	}
	for _, mnt := range runtimetest.CgroupMounts() {
		m, _ := filepath.Glob(filepath.Join(mnt, "*", "*", "*"+nonce+"*"))
		m2, _ := filepath.Glob(filepath.Join(mnt, "*"+nonce+"*"))
		for _, p := range append(m, m2...) {
			out = append(out, "cgroup "+p)
		}
	}
	return out
}

// decoy is a TCP listener on every host address that counts the
// connections it accepts: a sandbox that reaches it has reached the host.
type decoy struct {
	ln       net.Listener
	accepted atomic.Int64
}

func newDecoy() (*decoy, error) {
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		return nil, err
	}
	d := &decoy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d.accepted.Add(1)
			c.Close()
		}
	}()
	return d, nil
}

func (d *decoy) port() int { return d.ln.Addr().(*net.TCPAddr).Port }

// hostIP is an address of this host other than loopback (the one a
// sandbox would use to reach the host through a network link), or
// 127.0.0.1 when it has none.
func hostIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	return "127.0.0.1"
}

// clockSkew is how far the host's wall clock moved from its monotonic
// clock since start.
func clockSkew(start time.Time) time.Duration {
	wall := time.Now().Round(0).Sub(start.Round(0))
	mono := time.Since(start)
	if d := wall - mono; d < 0 {
		return -d
	} else {
		return d
	}
}
