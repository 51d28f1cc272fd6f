package escape_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/internal/runtime/runtimetest"
)

// pySyscall runs Python code in the sandbox with sc(nr, *args), which makes
// a raw system call, prints its errno and exits non-zero when it failed.
func pySyscall(code string) string {
	return `python3 - <<'PY'
import ctypes, errno, os, sys, struct
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def sc(nr, *args):
    r = libc.syscall(ctypes.c_long(nr), *args)
    e = ctypes.get_errno()
    print("syscall", nr, "returned", r, errno.errorcode.get(e, e) if r < 0 else "")
    sys.exit(0 if r >= 0 else 1)
` + code + "\nPY"
}

// denied is how the kernel or a tool says no.
const denied = `(?i)operation not permitted|permission denied|read-only file system|EPERM|EACCES|ENOSYS|must be superuser|must be root|not allowed|cannot`

// kernelDenied is the kernel's refusal only (a tool such as sudo that
// refuses by itself does not count).
const kernelDenied = `(?i)operation not permitted|permission denied|read-only file system|must be superuser`

// deniedOrAbsent also accepts a kernel interface this host's kernel
// lacks (the host check still compares the host's own file, if any).
const deniedOrAbsent = denied + `|(?i)no such file`

// attempts is the table of the suite, for x86_64.
func attempts() []attempt {
	return []attempt{
		// Mounts: no CAP_SYS_ADMIN, seccomp, and mounts never propagate.
		{name: "mount-tmpfs", script: "mkdir -p /tmp/m && mount -t tmpfs -o size=1m NONCE /tmp/m", want: denied},
		{name: "mount-bind-root", script: "mkdir -p /tmp/NONCE && mount --bind / /tmp/NONCE", want: denied},
		{name: "mount-proc", script: "mkdir -p /tmp/NONCE && mount -t proc proc /tmp/NONCE", want: denied},
		{name: "mount-cgroup-for-release-agent", script: "mkdir -p /tmp/NONCE && mount -t cgroup -o rdma cgroup /tmp/NONCE", want: denied},
		{name: "remount-sys-rw", script: "mount -o remount,rw /sys", want: denied},
		{name: "open-by-handle-shocker", script: pySyscall(`
fd = os.open("/", os.O_RDONLY)
h = ctypes.create_string_buffer(struct.pack("II", 8, 1) + struct.pack("Q", 2))
sc(304, fd, h, 0)`), want: `EPERM|EACCES|ENOSYS`},

		// User namespaces: nesting is beyond policy.
		{name: "unshare-userns", script: "unshare -U -r id", want: denied},
		{name: "unshare-mount-net", script: "unshare -m -n true", want: denied},
		{name: "clone-newuser-syscall", script: pySyscall(`sc(272, 0x10000000)`), want: `EPERM|ENOSYS|EINVAL`},
		{name: "raise-max-user-namespaces", script: "echo 1000000 > /proc/sys/user/max_user_namespaces", want: denied},

		// Kernel keyrings are not namespaced.
		{name: "add-key", script: pySyscall(`sc(248, b"user", b"NONCE", b"x", 1, -4)`), want: `EPERM|ENOSYS|EACCES`},
		{name: "keyctl-join-session", script: pySyscall(`sc(250, 1, b"NONCE")`), want: `EPERM|ENOSYS|EACCES`},

		// BPF and perf reach into the host kernel.
		{name: "bpf-map-create", script: pySyscall(`
attr = ctypes.create_string_buffer(struct.pack("IIII", 2, 4, 4, 1), 128)
sc(321, 0, attr, 128)`), want: `EPERM|ENOSYS|EACCES`},
		{name: "perf-event-open", script: pySyscall(`
attr = ctypes.create_string_buffer(struct.pack("IIQ", 1, 128, 0), 128)
sc(298, attr, 0, -1, -1, 0)`), want: `EPERM|ENOSYS|EACCES`},
		{name: "write-perf-event-paranoid", script: "echo -1 > /proc/sys/kernel/perf_event_paranoid", want: denied},

		// The agent is pid 1 and holds the sandbox's access token.
		{name: "ptrace-attach-agent", script: pySyscall(`sc(101, 16, 1, 0, 0)`), want: `EPERM|ENOSYS|EACCES`},
		{name: "write-agent-memory", script: `python3 -c 'open("/proc/1/mem", "wb").write(b"x")'`, want: denied},
		{name: "overwrite-agent-binary", script: "echo x > /usr/local/bin/soulbox-agent", want: denied},

		// Kernel modules.
		{name: "init-module", script: pySyscall(`sc(175, None, 0, b"")`), want: `EPERM|ENOSYS`},
		{name: "finit-module", script: pySyscall(`
fd = os.open("/dev/null", os.O_RDONLY)
sc(313, fd, b"", 0)`), want: `EPERM|ENOSYS`},
		{name: "set-modprobe-path", script: "echo /tmp/NONCE > /proc/sys/kernel/modprobe", want: deniedOrAbsent},

		// Raw sockets: no CAP_NET_RAW.
		{name: "raw-icmp-socket", script: `python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)'`, want: denied},
		{name: "packet-socket", script: `python3 -c 'import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)'`, want: denied},
		{name: "add-network-link", script: "ip link add NONCE type dummy", want: denied},

		// /proc and /sys writes.
		{name: "sysrq-trigger", script: "echo h > /proc/sysrq-trigger", want: deniedOrAbsent},
		{name: "core-pattern", script: "echo '|/tmp/NONCE' > /proc/sys/kernel/core_pattern", want: denied},
		{name: "enable-sysrq", script: "echo 1 > /proc/sys/kernel/sysrq", want: deniedOrAbsent},
		{name: "sethostname", script: "hostname NONCE", want: denied},
		{name: "write-transparent-hugepage", script: "echo never > /sys/kernel/mm/transparent_hugepage/enabled", want: deniedOrAbsent},
		{name: "read-kernel-log", script: "dmesg", want: denied},
		{name: "read-kcore", script: `n=$(head -c 4096 /proc/kcore | wc -c); echo "read $n bytes of /proc/kcore (masked)"; [ "$n" -gt 0 ]`, want: `read 0 bytes`},
		{name: "reboot", script: pySyscall(`sc(169, 0xfee1dead, 672274793, 0x01234567, None)`), want: `EPERM|ENOSYS`},
		{name: "iopl", script: pySyscall(`sc(172, 3)`), want: `EPERM|ENOSYS`},
		// The kernel's 32-bit entry points are closed: getpid through
		// i386's int 0x80 kills the thread (the server runs without
		// --compat32).
		{name: "ia32-int80-syscall", script: "python3 - <<'PY'\n" + ia32GetPID + "PY", want: ia32Refused()},

		// Device nodes: no CAP_MKNOD, and the device cgroup denies them.
		{name: "mknod-block-device", script: "mknod /tmp/NONCE b 8 0", want: denied, host: noUpperFile},
		{name: "mknod-dev-mem", script: "mknod /tmp/NONCE c 1 1", want: denied, host: noUpperFile},

		// Cgroups: the sandbox's own cgroup is read-only to it.
		{name: "cgroup-move-out", script: `ok=1; for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/*/cgroup.procs /sys/fs/cgroup/*/../cgroup.procs; do [ -e "$f" ] && echo $$ > "$f" && ok=0; done; exit $ok`, want: denied, host: shellInOwnCgroups},
		{name: "cgroup-raise-pids-max", script: `ok=1; for f in /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max; do [ -e "$f" ] && echo max > "$f" && ok=0; done; exit $ok`, want: denied},
		{name: "cgroup-raise-memory-limit", script: `ok=1; for f in /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes; do [ -e "$f" ] && echo -1 > "$f" && ok=0; done; exit $ok`, want: denied},
		{name: "cgroup-release-agent", script: `ok=1; for f in /sys/fs/cgroup/*/release_agent /sys/fs/cgroup/release_agent; do [ -e "$f" ] && echo /tmp/NONCE > "$f" && ok=0; done; mkdir /sys/fs/cgroup/pids/NONCE 2>&1 && ok=0; exit $ok`, want: denied},

		// Exhaustion: contained by the sandbox's limits, in a sandbox of
		// its own each.
		{name: "fork-bomb", fresh: true, files: forkBomb, host: pidsWithinLimit},
		{name: "memory-4GiB", fresh: true, script: `python3 -c 'b = bytearray(4 << 30); print("allocated", len(b))'`, want: `(?i)killed|memoryerror|cannot allocate|^$`, host: memoryWithinLimit},
		{name: "disk-fallocate-past-quota", fresh: true, script: `fallocate -l 64G "$HOME/NONCE"`, want: `(?i)no space left`},
		{name: "disk-fill", fresh: true, users: []string{"user"}, script: `avail=$(df -B1 --output=avail "$HOME" | tail -1); fallocate -l $((avail - 4096)) "$HOME/fill" && dd if=/dev/zero of="$HOME/more" bs=1M count=64 conv=fsync`, want: `(?i)no space left`, host: diskWithinQuota},
		{name: "shm-fill", script: `trap 'rm -f /dev/shm/NONCE' EXIT; head -c 200M /dev/zero > /dev/shm/NONCE`, want: `(?i)no space left`},
		{name: "fd-exhaustion", fresh: true, script: `python3 -c '
import os
fds = []
while True:
    fds.append(os.open("/dev/null", os.O_RDONLY))
'`, want: `(?i)too many open files`, host: hostHasFiles},
		{name: "raise-nofile-hard-limit", script: "ulimit -Hn 1073741816", want: denied},

		// The clock is the host's.
		{name: "date-set", script: "date -s '2001-01-01 00:00:00'", want: denied},
		{name: "settimeofday", script: pySyscall(`
tv = ctypes.create_string_buffer(struct.pack("qq", 978307200, 0))
sc(164, tv, None)`), want: `EPERM`},
		{name: "clock-settime", script: `python3 -c 'import time; time.clock_settime(time.CLOCK_REALTIME, 978307200)'`, want: denied},
		{name: "adjtimex-offset", script: pySyscall(`
tx = ctypes.create_string_buffer(struct.pack("Iq", 1, 500000), 208)
sc(159, tx)`), want: `EPERM`},

		// sudo: user may become root inside its sandbox, as in E2B's
		// templates; root inside is still refused what these need. The
		// kernel's refusal is what must answer, not sudo's.
		{name: "sudo-mount", users: []string{"user"}, script: "sudo -n mount -t tmpfs NONCE /mnt", want: kernelDenied},
		{name: "sudo-unshare-userns", users: []string{"user"}, script: "sudo -n unshare -U -r id", want: kernelDenied},
		{name: "sudo-core-pattern", users: []string{"user"}, script: "sudo -n sh -c 'echo \"|/tmp/NONCE\" > /proc/sys/kernel/core_pattern'", want: kernelDenied},
		{name: "sudo-date-set", users: []string{"user"}, script: "sudo -n date -s '2001-01-01 00:00:00'", want: kernelDenied},

		// Other sandboxes and the host's secrets.
		{name: "read-other-sandbox-by-host-path", script: `cat {{VICTIM}}/home/user/secret.txt`, want: `(?i)no such file`},
		{name: "search-other-sandbox", script: `grep -rs secret- /home /tmp /root /var/lib 2>/dev/null | grep . ; find / -xdev -name secret.txt 2>/dev/null | grep .`, want: `^$`},
		{name: "read-admin-key", script: `cat {{DATADIR}}/admin.key`, want: `(?i)no such file`},
		{name: "chroot-breakout-admin-key", users: []string{"root"}, script: `python3 - <<'PY'
import os
os.makedirs("/tmp/jail", exist_ok=True)
os.chroot("/tmp/jail")
for _ in range(64):
    os.chdir("..")
os.chroot(".")
print(open("{{DATADIR}}/admin.key").read())
PY`, want: `(?i)no such file`},
		{name: "read-agent-environ", users: []string{"user"}, script: `cat /proc/1/environ`, want: denied},

		// The network: loopback only; the host's API port, the host's
		// addresses and the cloud metadata address are out of reach.
		{name: "reach-host-api-port", script: `curl -sS -m 3 http://127.0.0.1:{{PORT}}/health`, want: `(?i)failed to connect|couldn't connect|refused`},
		{name: "reach-host-loopback-decoy", script: `curl -sS -m 3 http://127.0.0.1:{{DECOY}}/`, want: `(?i)failed to connect|couldn't connect|refused`},
		{name: "reach-host-address", script: `echo x > /dev/tcp/{{HOSTIP}}/{{DECOY}}`, want: `(?i)unreachable|refused`},
		{name: "reach-metadata-address", script: `curl -sS -m 3 http://169.254.169.254/latest/meta-data/`, want: `(?i)unreachable|refused|failed to connect|couldn't connect`},

		// The files API: links that point where the writer may not go.
		{name: "upload-through-symlink-to-core-pattern", files: uploadThroughLink("/proc/sys/kernel/core_pattern", "|/tmp/NONCE")},
		{name: "upload-through-symlink-to-sysrq-trigger", files: uploadThroughLink("/proc/sysrq-trigger", "h")},
		{name: "upload-through-symlink-to-agent-binary", files: uploadThroughLink("/usr/local/bin/soulbox-agent", "x")},
		{name: "upload-through-symlinked-dir-to-cgroup", files: uploadThroughLink("/sys/fs/cgroup/pids/pids.max", "max")},
		{name: "upload-to-host-data-dir-by-dotdot", files: uploadTo("/../../../../../..{{DATADIR}}/NONCE")},
		{name: "upload-through-symlink-to-host-data-dir", files: uploadThroughLink("{{DATADIR}}/NONCE", "x")},
		{name: "download-agent-environ", users: []string{"user"}, files: downloadDenied("/proc/1/environ")},
		{name: "download-agent-environ-through-symlink", users: []string{"user"}, files: downloadThroughLink("/proc/1/environ")},
		{name: "agent-environ-holds-no-credential", users: []string{"root"}, files: environHasNoCredential},
		{name: "download-shadow-through-hard-link", users: []string{"user"}, files: downloadThroughHardLink("/etc/shadow")},
		{name: "download-admin-key-through-symlink", files: downloadThroughLink("{{DATADIR}}/admin.key")},
		{name: "download-other-sandbox-through-symlink", files: downloadThroughLink("{{VICTIM}}/home/user/secret.txt")},
	}
}

// home is where user keeps the links it plants.
func home(user string) string {
	if user == "root" {
		return "/root"
	}
	return "/home/user"
}

// plant runs a setup script in the sandbox as user and fails the test if
// it fails.
func plant(t *testing.T, e *env, sb client.Sandbox, user, script string) {
	t.Helper()
	if out := e.srv.Run(sb, user, script, time.Minute); out.Err != nil || out.Code != 0 {
		t.Fatalf("setup %q: %+v", script, out)
	}
}

// uploadThroughLink plants a symbolic link to target and uploads through
// it: the upload must fail and leave target as it was, in the sandbox
// and on the host (which the snapshot covers).
func uploadThroughLink(target, body string) func(*testing.T, *env, client.Sandbox, string, string) string {
	return func(t *testing.T, e *env, sb client.Sandbox, user, nonce string) string {
		target := e.expand(target, nonce)
		link := home(user) + "/link-" + nonce
		before := e.srv.Run(sb, "root", "cat "+target+" 2>&1 | head -c 4096 | sha256sum", time.Minute).Text
		existed := e.srv.Run(sb, "root", "test -e "+target, time.Minute).Code == 0
		plant(t, e, sb, user, "ln -sfn "+target+" "+link)
		status, resp, err := e.srv.Files(sb, "POST", user, link, []byte(e.expand(body, nonce)))
		if err != nil {
			return "request failed: " + err.Error()
		}
		after := e.srv.Run(sb, "root", "cat "+target+" 2>&1 | head -c 4096 | sha256sum", time.Minute).Text
		if before != after {
			return fmt.Sprintf("%s changed in the sandbox (upload answered %d %s)", target, status, resp)
		}
		if status < 400 {
			// A link to nothing is replaced by the file, as envd does:
			// the target must still not exist.
			if !existed && e.srv.Run(sb, "root", "test -e "+target, time.Minute).Code != 0 {
				t.Logf("the dangling link to %s was replaced by the upload (%d)", target, status)
				return ""
			}
			return fmt.Sprintf("upload through a link to %s answered %d %s", target, status, resp)
		}
		return ""
	}
}

// uploadTo uploads to a path that tries to leave the sandbox's root.
func uploadTo(path string) func(*testing.T, *env, client.Sandbox, string, string) string {
	return func(t *testing.T, e *env, sb client.Sandbox, user, nonce string) string {
		p := e.expand(path, nonce)
		status, resp, err := e.srv.Files(sb, "POST", user, p, []byte("x"))
		if err != nil {
			return "request failed: " + err.Error()
		}
		// Inside the sandbox the path is the sandbox's own business; on
		// the host nothing appears (traces checks the data dir).
		if _, err := os.Stat(filepath.Join(e.srv.DataDir, nonce)); err == nil {
			return fmt.Sprintf("upload to %s created a file in the host's data dir (%d %s)", p, status, resp)
		}
		if status < 400 {
			t.Logf("upload to %s stayed inside the sandbox (%d)", p, status)
		}
		return ""
	}
}

// downloadDenied downloads path, which must be refused.
func downloadDenied(path string) func(*testing.T, *env, client.Sandbox, string, string) string {
	return func(t *testing.T, e *env, sb client.Sandbox, user, nonce string) string {
		status, resp, err := e.srv.Files(sb, "GET", user, e.expand(path, nonce), nil)
		if err != nil {
			return "request failed: " + err.Error()
		}
		if status < 400 {
			return fmt.Sprintf("download of %s answered %d with %d bytes", path, status, len(resp))
		}
		return leaked(e, resp)
	}
}

// downloadThroughLink plants a symbolic link to target and downloads it.
func downloadThroughLink(target string) func(*testing.T, *env, client.Sandbox, string, string) string {
	return func(t *testing.T, e *env, sb client.Sandbox, user, nonce string) string {
		target := e.expand(target, nonce)
		link := home(user) + "/link-" + nonce
		plant(t, e, sb, user, "ln -sfn "+target+" "+link)
		status, resp, err := e.srv.Files(sb, "GET", user, link, nil)
		if err != nil {
			return "request failed: " + err.Error()
		}
		if status < 400 {
			return fmt.Sprintf("download through a link to %s answered %d with %d bytes", target, status, len(resp))
		}
		return leaked(e, resp)
	}
}

// downloadThroughHardLink tries to hard-link target into the user's home
// (refused by protected_hardlinks) and downloads what is there.
func downloadThroughHardLink(target string) func(*testing.T, *env, client.Sandbox, string, string) string {
	return func(t *testing.T, e *env, sb client.Sandbox, user, nonce string) string {
		link := home(user) + "/hard-" + nonce
		out := e.srv.Run(sb, user, "ln "+target+" "+link, time.Minute)
		if out.Code == 0 {
			return "hard link to " + target + " created"
		}
		status, resp, err := e.srv.Files(sb, "GET", user, link, nil)
		if err != nil {
			return "request failed: " + err.Error()
		}
		if status < 400 || strings.Contains(resp, "root:") {
			return fmt.Sprintf("download of the hard link answered %d %q", status, resp)
		}
		return ""
	}
}

// environHasNoCredential: root in the sandbox may read its agent's
// environment; it must hold neither the admin key nor the sandbox's own
// access token.
func environHasNoCredential(t *testing.T, e *env, sb client.Sandbox, user, nonce string) string {
	status, resp, err := e.srv.Files(sb, "GET", user, "/proc/1/environ", nil)
	if err != nil {
		return "request failed: " + err.Error()
	}
	if status >= 400 {
		return ""
	}
	if sb.EnvdAccessToken != "" && strings.Contains(resp, sb.EnvdAccessToken) {
		return "the agent's environment holds the sandbox's access token"
	}
	return leaked(e, resp)
}

func leaked(e *env, body string) string {
	if strings.Contains(body, e.srv.Key) {
		return "the answer holds the admin key"
	}
	if strings.Contains(body, e.secret) {
		return "the answer holds the other sandbox's secret"
	}
	return ""
}

// noUpperFile: the node was not created in the sandbox's writable layer,
// seen from the host.
func noUpperFile(e *env, sb client.Sandbox, nonce string) string {
	m, _ := filepath.Glob(filepath.Join(e.srv.RuntimeRoot(), "sandboxes", sb.SandboxID, "disk", "*", "tmp", nonce))
	if len(m) > 0 {
		return "device node created: " + strings.Join(m, " ")
	}
	return ""
}

// sandboxCgroupFile reads a file of the sandbox's cgroups on the host,
// trying each name in turn (cgroup v1 and v2 spell them differently).
func sandboxCgroupFile(id string, names ...string) (string, string) {
	for _, dir := range runtimetest.CgroupsNaming(id) {
		for _, n := range names {
			if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
				return filepath.Join(dir, n), strings.TrimSpace(string(b))
			}
		}
	}
	return "", ""
}

// shellInOwnCgroups: every process of the sandbox is still in its cgroup.
func shellInOwnCgroups(e *env, sb client.Sandbox, nonce string) string {
	info, err := e.srv.Driver().Info(context.Background(), sb.SandboxID)
	if err != nil {
		return err.Error()
	}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", info.Pid))
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.Contains(line, "/"+sb.SandboxID) && !strings.Contains(line, ":name=") && !strings.HasPrefix(line, "0::/") {
			return "the sandbox's main process left its cgroup: " + line
		}
	}
	return ""
}

// pidsWithinLimit: the fork bomb stayed under the sandbox's pids limit.
func pidsWithinLimit(e *env, sb client.Sandbox, nonce string) string {
	_, max := sandboxCgroupFile(sb.SandboxID, "pids.max")
	p, cur := sandboxCgroupFile(sb.SandboxID, "pids.current")
	var c, m int
	fmt.Sscan(cur, &c)
	if _, err := fmt.Sscan(max, &m); err != nil {
		return "the sandbox has no pids limit: pids.max = " + max
	}
	if c > m {
		return fmt.Sprintf("%s = %d above pids.max %d", p, c, m)
	}
	return ""
}

// memoryWithinLimit: the sandbox never used more than its limit.
func memoryWithinLimit(e *env, sb client.Sandbox, nonce string) string {
	_, limit := sandboxCgroupFile(sb.SandboxID, "memory.limit_in_bytes", "memory.max")
	_, peak := sandboxCgroupFile(sb.SandboxID, "memory.max_usage_in_bytes", "memory.peak")
	var l, p int64
	fmt.Sscan(limit, &l)
	fmt.Sscan(peak, &p)
	if l == 0 || p > l {
		return fmt.Sprintf("memory peak %d, limit %q", p, limit)
	}
	return ""
}

// diskWithinQuota: the sandbox's disk image holds no more than its size.
func diskWithinQuota(e *env, sb client.Sandbox, nonce string) string {
	img := filepath.Join(e.srv.RuntimeRoot(), "sandboxes", sb.SandboxID, "disk.img")
	var st unix.Stat_t
	if err := unix.Stat(img, &st); err != nil {
		return err.Error()
	}
	if used := st.Blocks * 512; used > st.Size+64<<20 {
		return fmt.Sprintf("disk image uses %d bytes on the host, more than its size %d", used, st.Size)
	}
	return ""
}

// hostHasFiles: the host is far from its own file limit.
func hostHasFiles(e *env, sb client.Sandbox, nonce string) string {
	var used, free, max int64
	fmt.Sscan(readHost("/proc/sys/fs/file-nr"), &used, &free, &max)
	if max == 0 || used > max/2 {
		return fmt.Sprintf("host file handles: %d of %d in use", used, max)
	}
	return ""
}
