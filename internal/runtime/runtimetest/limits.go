package runtimetest

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"testing"

	rt "github.com/soulbox/soulbox/internal/runtime"
)

func (s *suite) testOOM(t *testing.T) {
	info := s.start(t, rt.Limits{MemoryMB: 128})
	// 512 MiB touched page by page against a 128 MiB limit.
	_, errOut, code := s.run(t, info.ID, `python3 -c "
b = bytearray(512 << 20)
for i in range(0, len(b), 4096):
    b[i] = 1
print('survived')
"`)
	if code != 137 {
		t.Fatalf("memory hog exited %d, want 137 (SIGKILL by the OOM killer); stderr: %s", code, errOut)
	}
	st, err := s.d.Stats(context.Background(), info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.OOMKills == 0 {
		t.Error("stats report no OOM kill")
	}
	if st.MemoryLimit != 128<<20 {
		t.Errorf("memory limit = %d, want %d", st.MemoryLimit, 128<<20)
	}
	// The sandbox itself (its agent) survives and keeps working.
	if got := s.mustRun(t, info.ID, "echo alive; cat /proc/1/comm"); got != "alive\nsoulbox-agent" {
		t.Errorf("after OOM: %q", got)
	}
}

func (s *suite) testForkBomb(t *testing.T) {
	const limit = 64
	info := s.start(t, rt.Limits{Pids: limit})
	// Fork until the kernel refuses, report how far it got, then clean up.
	out, errOut, code := s.run(t, info.ID, ForkBombScript)
	if code != 0 {
		t.Fatalf("fork bomb script exited %d: %s %s", code, out, errOut)
	}
	f := strings.Fields(out)
	if len(f) != 2 || f[0] == "unbounded" {
		t.Fatalf("fork bomb was not stopped: %q", out)
	}
	n, _ := strconv.Atoi(f[0])
	if n >= limit || f[1] != "11" {
		t.Errorf("forked %d processes, errno %s; want fewer than %d and EAGAIN (11)", n, f[1], limit)
	}
	if got := s.mustRun(t, info.ID, "echo alive"); got != "alive" {
		t.Errorf("after fork bomb: %q", got)
	}
}

func (s *suite) testDiskQuota(t *testing.T) {
	info := s.start(t, rt.Limits{DiskMB: 128})
	_, errOut, code := s.run(t, info.ID, "dd if=/dev/zero of=/root/fill bs=1M count=256 status=none")
	if code == 0 {
		t.Fatal("writing 256 MiB into a 128 MiB disk succeeded")
	}
	if !strings.Contains(errOut, "No space left on device") {
		t.Errorf("writer stopped with %q, want ENOSPC", errOut)
	}
	st, err := s.d.Stats(context.Background(), info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.DiskTotal == 0 || st.DiskTotal > 128<<20 || st.DiskUsed < st.DiskTotal*9/10 {
		t.Errorf("disk stats after filling: used %d of %d", st.DiskUsed, st.DiskTotal)
	}
	// Freeing space makes the disk usable again.
	s.mustRun(t, info.ID, "rm /root/fill && echo ok > /root/after")
}

func (s *suite) testForbidden(t *testing.T) {
	info := s.start(t, rt.Limits{})
	nr, ok := syscallNumbers[runtime.GOARCH]
	if !ok {
		t.Skipf("no syscall numbers for %s", runtime.GOARCH)
	}
	// Each direct syscall must fail with EPERM (1) whatever its arguments.
	sys := func(n int, args string) string {
		return `python3 -c "
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(` + strconv.Itoa(n) + args + `)
print(r, ctypes.get_errno())
"`
	}
	for _, tc := range []struct{ name, script, want string }{
		{"mount", "mount -t tmpfs none /mnt", ""},
		{"unshare -U", "unshare -U true", ""},
		{"unshare -m", "unshare -m true", ""},
		{"write /proc/sys", "echo 1 > /proc/sys/kernel/sysrq", ""},
		{"sysctl", "sysctl -w net.ipv4.ip_forward=1", ""},
		{"keyctl", sys(nr.keyctl, ", 0, -3, 0"), "-1 1"},
		{"add_key", sys(nr.addKey, ", b'user', b'k', b'v', 1, -3"), "-1 1"},
		{"init_module", sys(nr.initModule, ", 0, 0, b''"), "-1 1"},
		{"finit_module", sys(nr.finitModule, ", 0, b'', 0"), "-1 1"},
		{"kexec_load", sys(nr.kexecLoad, ", 0, 0, 0, 0"), "-1 1"},
		{"bpf", sys(nr.bpf, ", 0, 0, 0"), "-1 1"},
		{"clock_settime", sys(nr.clockSettime, ", 0, 0"), "-1 1"},
		// The agent (pid 1) cannot be traced, even by the sandbox's root.
		{"ptrace agent", sys(nr.ptrace, ", 16, 1, 0, 0"), "-1 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := s.run(t, info.ID, tc.script)
			if tc.want == "" {
				if code == 0 {
					t.Errorf("%q succeeded: %s", tc.script, out)
				}
				return
			}
			if strings.TrimSpace(out) != tc.want {
				t.Errorf("%s: got %q (stderr %q), want %q (EPERM)", tc.name, out, errOut, tc.want)
			}
		})
	}
	// The forbidden operations changed nothing: the sandbox still works.
	s.mustRun(t, info.ID, "true")
}

// ForkBombScript forks until the kernel refuses, prints how many children
// it got and the errno ("unbounded N" if it never was refused), then kills
// them all. Drivers' own tests use it too.
const ForkBombScript = `python3 -c "
import os, signal, time
kids = []
try:
    while len(kids) < 10000:
        pid = os.fork()
        if pid == 0:
            time.sleep(600)
            os._exit(0)
        kids.append(pid)
    print('unbounded', len(kids))
except OSError as e:
    print(len(kids), e.errno)
for k in kids:
    os.kill(k, signal.SIGKILL)
    os.waitpid(k, 0)
"`

type sysnums struct {
	keyctl, addKey, initModule, finitModule, kexecLoad, bpf, clockSettime, ptrace int
}

var syscallNumbers = map[string]sysnums{
	"amd64": {keyctl: 250, addKey: 248, initModule: 175, finitModule: 313, kexecLoad: 246, bpf: 321, clockSettime: 227, ptrace: 101},
	"arm64": {keyctl: 219, addKey: 217, initModule: 105, finitModule: 273, kexecLoad: 104, bpf: 280, clockSettime: 112, ptrace: 117},
}
