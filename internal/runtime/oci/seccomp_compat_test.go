package oci

import (
	"bytes"
	"context"
	"os/exec"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
)

// ia32Getpid makes getpid through i386's int 0x80 from a 64-bit Python
// and prints what it returned; a thread the filter kills prints nothing.
const ia32Getpid = `python3 - <<'PY'
import ctypes, mmap, os
code = bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3])  # mov eax, 20; int 0x80; ret
m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
m.write(code)
f = ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(m)))
r = f()
print("ia32 getpid " + "answered", r, "pid", os.getpid())
PY`

// A sandbox reaches the kernel through the native ABI only: a system call
// through i386's int 0x80 kills the thread that makes it, unless the
// driver keeps the 32-bit ABIs open, where it is filtered and answered.
func TestSeccompCompatABIs(t *testing.T) {
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	if goruntime.GOARCH != "amd64" {
		t.Skip("the probe is x86-64 machine code")
	}
	// The host must answer it, or a refusal in the sandbox proves nothing.
	if out, err := exec.Command("/bin/sh", "-c", ia32Getpid).CombinedOutput(); err != nil || !strings.Contains(string(out), "ia32 getpid answered") {
		t.Skipf("this host's kernel does not run i386 system calls (%v: %s)", err, out)
	}
	run := func(d *Driver, id string) (string, int) {
		startSandbox(t, d, id, runtime.Limits{})
		var out, errOut bytes.Buffer
		res, err := d.Exec(context.Background(), id, runtime.ExecRequest{Args: []string{"/bin/bash", "-c", ia32Getpid + "\necho exit=$?"}, Stdout: &out, Stderr: &errOut})
		if err != nil {
			t.Fatalf("exec in %s: %v", id, err)
		}
		return out.String() + errOut.String(), res.ExitCode
	}

	native := newTestDriver(t, nil)
	if got := native.seccompArches(t, "compatoff"); len(got) != 1 || got[0] != "SCMP_ARCH_X86_64" {
		t.Errorf("config.json architectures = %v, want x86-64 alone", got)
	}
	out, _ := run(native, "compatoff")
	// The shell reports the killed Python: SIGSYS is 31, 128+31.
	if strings.Contains(out, "ia32 getpid answered") || !strings.Contains(out, "exit=159") {
		t.Errorf("i386 getpid in a sandbox: %q; want the thread killed by SIGSYS (exit 159)", out)
	}

	d, err := New(Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: ocitest.Templates(t), Compat32: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.seccompArches(t, "compaton"); len(got) != 3 {
		t.Errorf("config.json architectures = %v, want x86-64, i386 and x32", got)
	}
	out, _ = run(d, "compaton")
	if !strings.Contains(out, "ia32 getpid answered") || !strings.Contains(out, "exit=0") {
		t.Errorf("i386 getpid with Compat32: %q; want it answered", out)
	}
}

// seccompArches creates no sandbox: it is the architectures a config of
// this driver's sandboxes names.
func (d *Driver) seccompArches(t *testing.T, id string) []string {
	t.Helper()
	s := ociSpec(bundleSpec{id: id, rootfs: "/r", hostUID: 1 << 24, runtime: "runc", compat32: d.compat32})
	var got []string
	for _, a := range s.Linux.Seccomp.Architectures {
		got = append(got, string(a))
	}
	return got
}
