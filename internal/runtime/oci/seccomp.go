package oci

import (
	"fmt"
	goruntime "runtime"
	"slices"
	"sync"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// seccompProfile returns the sandbox seccomp profile: Docker's default
// profile, maintained by moby in github.com/moby/profiles/seccomp, resolved
// the way dockerd resolves it for a container with caps as its bounding set
// and this host's architecture (its compat ABIs included, so a 32-bit binary
// cannot reach syscalls through a second, unfiltered table). Syscalls it
// does not allow fail with EPERM; clone with namespace flags is refused and
// clone3 answers ENOSYS (so libc falls back to clone, whose flags can be
// filtered) unless caps hold CAP_SYS_ADMIN, which a sandbox never does.
//
// Taking moby's profile rather than a list of our own means a sandbox gets
// the syscall surface years of `docker run` have shaken out, and follows
// it when moby changes it (a module update).
func seccompProfile(caps []string) (*specs.LinuxSeccomp, error) {
	rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{
		Bounding: slices.Clone(caps),
	}}}
	p, err := seccomp.GetDefaultProfile(rs)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	if p == nil || len(p.Architectures) == 0 {
		// moby knows no seccomp architecture for this GOARCH: a filter
		// without one would apply to nothing.
		return nil, fmt.Errorf("seccomp profile: no seccomp architecture for this host")
	}
	return p, nil
}

// sandboxSeccomp is the profile of every sandbox, whose capabilities are
// always sandboxCaps: resolved once, checked by New, and only read after.
// It filters the host's compatibility ABIs too (32-bit programs run);
// nativeSeccomp is what a sandbox gets unless the driver allows those.
var sandboxSeccomp = sync.OnceValues(func() (*specs.LinuxSeccomp, error) {
	return seccompProfile(sandboxCaps)
})

// nativeArch is the seccomp architecture of 64-bit programs per GOARCH.
var nativeArch = map[string]specs.Arch{"amd64": specs.ArchX86_64, "arm64": specs.ArchAARCH64}

// nativeSeccomp is sandboxSeccomp for the host's native ABI alone. A
// system call through a compatibility ABI (i386's int 0x80, x32, arm's
// 32-bit mode) then matches no architecture of the filter, and the
// runtime's filter kills the thread that makes it instead of filtering
// it: 32-bit programs do not run, as in gVisor, and the kernel's compat
// entry points, a long-standing source of its bugs, are out of reach.
//
// It is also what makes a create cheaper: runc compiles the profile with
// libseccomp in every sandbox's init, and each architecture costs about
// 7–9 ms of CPU on top of the native one's 3–4 (docs/PERFORMANCE.md).
var nativeSeccomp = sync.OnceValues(func() (*specs.LinuxSeccomp, error) {
	p, err := sandboxSeccomp()
	if err != nil {
		return nil, err
	}
	native, ok := nativeArch[goruntime.GOARCH]
	if !ok || !slices.Contains(p.Architectures, native) {
		// An architecture whose compat ABIs we do not know: filter
		// them all rather than leave one open.
		return p, nil
	}
	n := *p
	n.Architectures = []specs.Arch{native}
	return &n, nil
})

// seccompFor is the profile of a sandbox, with or without the host's
// compatibility ABIs.
func seccompFor(compat32 bool) *specs.LinuxSeccomp {
	// New has checked that both resolve.
	if compat32 {
		p, _ := sandboxSeccomp()
		return p
	}
	p, _ := nativeSeccomp()
	return p
}
