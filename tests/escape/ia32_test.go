package escape_test

import (
	"context"
	"errors"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// ia32GetPID makes getpid through i386's int 0x80 from Python.
const ia32GetPID = `import ctypes, mmap
m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
m.write(bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3]))  # mov eax, 20; int 0x80; ret
print("ia32 getpid answered", ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(m)))())
`

// ia32Refused is how a sandbox's int 0x80 must fail: the seccomp filter
// kills the thread (bad system call). On a host whose kernel answers no
// int 0x80 at all (no 32-bit emulation, or a hypervisor that faults it),
// the same call made on the host dies of a segmentation fault before any
// filter is asked, and so does it in the sandbox: that is accepted there.
var ia32Refused = sync.OnceValue(func() string {
	const filtered = `(?i)bad system call`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := exec.CommandContext(ctx, "python3", "-c", ia32GetPID).Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGSEGV {
			return filtered + `|(?i)segmentation fault`
		}
	}
	return filtered
})
