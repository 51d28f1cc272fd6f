package oci

import (
	"fmt"
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
var sandboxSeccomp = sync.OnceValues(func() (*specs.LinuxSeccomp, error) {
	return seccompProfile(sandboxCaps)
})
