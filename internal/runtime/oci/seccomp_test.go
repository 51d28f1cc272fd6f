package oci

import (
	"encoding/json"
	"reflect"
	goruntime "runtime"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// seccompTestCaps is Docker's default capability set, the one moby's profile
// is designed around.
var seccompTestCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_SETFCAP", "CAP_AUDIT_WRITE",
}

func mustSeccomp(t *testing.T, caps []string) *specs.LinuxSeccomp {
	t.Helper()
	p, err := seccompProfile(caps)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func withCaps(extra ...string) []string {
	return append(slices.Clone(seccompTestCaps), extra...)
}

// seccompVerdict evaluates p for one call the way the filter runc builds from
// it does: every rule naming the syscall whose argument conditions all hold
// matches, and libseccomp ranks ERRNO above ALLOW when several match. With no
// match the default action applies.
func seccompVerdict(p *specs.LinuxSeccomp, name string, args ...uint64) (specs.LinuxSeccompAction, uint) {
	allowed := false
	for _, r := range p.Syscalls {
		if !slices.Contains(r.Names, name) || !argsMatch(r.Args, args) {
			continue
		}
		switch r.Action {
		case specs.ActErrno:
			return specs.ActErrno, *r.ErrnoRet
		case specs.ActAllow:
			allowed = true
		}
	}
	if allowed {
		return specs.ActAllow, 0
	}
	return p.DefaultAction, *p.DefaultErrnoRet
}

func argsMatch(conds []specs.LinuxSeccompArg, args []uint64) bool {
	for _, c := range conds {
		var v uint64
		if int(c.Index) < len(args) {
			v = args[c.Index]
		}
		var ok bool
		switch c.Op {
		case specs.OpEqualTo:
			ok = v == c.Value
		case specs.OpNotEqual:
			ok = v != c.Value
		case specs.OpLessThan:
			ok = v < c.Value
		case specs.OpLessEqual:
			ok = v <= c.Value
		case specs.OpGreaterThan:
			ok = v > c.Value
		case specs.OpGreaterEqual:
			ok = v >= c.Value
		case specs.OpMaskedEqual:
			ok = v&c.Value == c.ValueTwo
		default:
			panic("unknown seccomp operator " + string(c.Op))
		}
		if !ok {
			return false
		}
	}
	return true
}

func TestSeccompDefaultAction(t *testing.T) {
	p := mustSeccomp(t, seccompTestCaps)
	if p.DefaultAction != specs.ActErrno {
		t.Errorf("DefaultAction = %q, want %q", p.DefaultAction, specs.ActErrno)
	}
	if p.DefaultErrnoRet == nil || *p.DefaultErrnoRet != 1 {
		t.Errorf("DefaultErrnoRet = %v, want EPERM (1)", p.DefaultErrnoRet)
	}
}

func TestSeccompArchitectures(t *testing.T) {
	want := map[string][]specs.Arch{
		"amd64": {specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		"arm64": {specs.ArchAARCH64, specs.ArchARM},
	}[goruntime.GOARCH]
	if want == nil {
		t.Skipf("no expectation for %s", goruntime.GOARCH)
	}
	if got := mustSeccomp(t, seccompTestCaps).Architectures; !reflect.DeepEqual(got, want) {
		t.Errorf("Architectures = %v, want %v", got, want)
	}
}

// A sandbox's config.json carries moby's default profile exactly as dockerd
// resolves it for the sandbox's capabilities, not a copy of our own that can
// drift from it: with Compat32 all of it, without it all but the compat
// architectures.
func TestSeccompIsMobyDefault(t *testing.T) {
	for _, compat32 := range []bool{true, false} {
		cfg := ociSpec(bundleSpec{id: "x", rootfs: "/r", hostUID: 1 << 24, runtime: "runc", compat32: compat32})
		want, err := seccomp.GetDefaultProfile(&specs.Spec{Process: &specs.Process{
			Capabilities: &specs.LinuxCapabilities{Bounding: cfg.Process.Capabilities.Bounding},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if native, ok := nativeArch[goruntime.GOARCH]; ok && !compat32 {
			want.Architectures = []specs.Arch{native}
		}
		if diff := cmp.Diff(want, cfg.Linux.Seccomp); diff != "" {
			t.Errorf("compat32 %v: sandbox seccomp differs from moby's default profile (-moby +sandbox):\n%s", compat32, diff)
		}
	}
}

// Syscalls moby keeps from a container holding only Docker's default caps.
var seccompDeniedSyscalls = []string{
	"mount", "umount", "umount2", "unshare", "setns", "pivot_root",
	"kexec_load", "kexec_file_load", "bpf", "keyctl", "add_key", "request_key",
	"init_module", "finit_module", "delete_module",
	"clock_settime", "clock_settime64", "settimeofday", "stime",
	"reboot", "swapon", "swapoff", "acct", "open_by_handle_at",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
	"userfaultfd", "perf_event_open", "quotactl", "quotactl_fd",
	"sethostname", "setdomainname", "syslog", "lookup_dcookie", "fanotify_init",
	"lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr",
	"kcmp", "pidfd_getfd", "process_madvise", "iopl", "ioperm", "vhangup",
	"mbind", "set_mempolicy", "get_mempolicy", "set_mempolicy_home_node",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"nfsservctl", "uselib", "ustat", "sysfs", "_sysctl", "vm86", "vm86old",
	"create_module", "get_kernel_syms", "query_module",
}

func TestSeccompDenied(t *testing.T) {
	for _, goarch := range []string{goruntime.GOARCH} {
		p := mustSeccomp(t, seccompTestCaps)
		for _, name := range seccompDeniedSyscalls {
			for _, r := range p.Syscalls {
				if r.Action == specs.ActAllow && slices.Contains(r.Names, name) {
					t.Errorf("%s: %s is in an allow rule %+v", goarch, name, r)
				}
			}
			if act, errno := seccompVerdict(p, name); act != specs.ActErrno || errno != 1 {
				t.Errorf("%s: %s -> %s/%d, want EPERM", goarch, name, act, errno)
			}
		}
	}
}

func TestSeccompAllowed(t *testing.T) {
	const sigchld = uint64(unix.SIGCHLD)
	// What fork(), pthread_create() and posix_spawn() pass to clone.
	threadFlags := uint64(unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
		unix.CLONE_THREAD | unix.CLONE_SYSVSEM | unix.CLONE_SETTLS |
		unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID)
	tests := []struct {
		name string
		args []uint64
	}{
		{"read", nil},
		{"write", nil},
		{"execve", nil},
		{"openat", nil},
		{"futex", nil},
		{"epoll_wait", nil},
		{"epoll_pwait", nil},
		{"mmap", nil},
		{"exit_group", nil},
		{"wait4", nil},
		{"getdents64", nil},
		{"rt_sigreturn", nil},
		{"set_robust_list", nil},
		{"rseq", nil},
		{"prctl", nil},
		{"seccomp", nil},
		// moby allows clock_adjtime unconditionally: with modes == 0 it only
		// reads the clock, and the kernel demands CAP_SYS_TIME to change it.
		{"clock_adjtime", nil},
		// Kept as moby has them: allowed on every kernel >= 4.8.
		{"ptrace", nil},
		{"process_vm_readv", nil},
		{"process_vm_writev", nil},
		// CAP_SYS_CHROOT is in the default set.
		{"chroot", nil},
		{"clone", []uint64{sigchld}},
		{"clone", []uint64{threadFlags}},
		{"clone", []uint64{unix.CLONE_VM | unix.CLONE_VFORK | sigchld}},
		{"socket", []uint64{unix.AF_UNIX}},
		{"socket", []uint64{unix.AF_INET}},
		{"socket", []uint64{unix.AF_INET6}},
		{"socket", []uint64{unix.AF_NETLINK}},
		{"socket", []uint64{unix.AF_PACKET}},
		{"socket", []uint64{unix.AF_MCTP}},
		{"personality", []uint64{0}},
		{"personality", []uint64{0x0008}},
		{"personality", []uint64{0x20000}},
		{"personality", []uint64{0x20008}},
		{"personality", []uint64{0xffffffff}},
	}
	for _, goarch := range []string{goruntime.GOARCH} {
		p := mustSeccomp(t, seccompTestCaps)
		for _, tt := range tests {
			if act, _ := seccompVerdict(p, tt.name, tt.args...); act != specs.ActAllow {
				t.Errorf("%s: %s%#x -> %s, want allowed", goarch, tt.name, tt.args, act)
			}
		}
	}
}

func TestSeccompArgFiltered(t *testing.T) {
	tests := []struct {
		name string
		args []uint64
	}{
		{"clone", []uint64{unix.CLONE_NEWUSER}},
		{"clone", []uint64{unix.CLONE_NEWUSER | unix.CLONE_NEWNS | uint64(unix.SIGCHLD)}},
		{"clone", []uint64{unix.CLONE_NEWNS}},
		{"clone", []uint64{unix.CLONE_NEWUTS}},
		{"clone", []uint64{unix.CLONE_NEWIPC}},
		{"clone", []uint64{unix.CLONE_NEWPID}},
		{"clone", []uint64{unix.CLONE_NEWNET}},
		{"clone", []uint64{unix.CLONE_NEWCGROUP}},
		{"socket", []uint64{unix.AF_VSOCK}},
		{"socket", []uint64{unix.AF_ALG}},
		{"socket", []uint64{unix.AF_DECnet}},
		{"socket", []uint64{unix.AF_CAIF}},
		{"socket", []uint64{unix.AF_MAX}},
		{"personality", []uint64{0x0040000}}, // ADDR_NO_RANDOMIZE
		{"personality", []uint64{0x0004}},    // PER_SVR4
	}
	p := mustSeccomp(t, seccompTestCaps)
	for _, tt := range tests {
		if act, errno := seccompVerdict(p, tt.name, tt.args...); act != specs.ActErrno || errno != 1 {
			t.Errorf("%s%#x -> %s/%d, want EPERM", tt.name, tt.args, act, errno)
		}
	}
}

// The clone rule must be moby's: only flags word 0, all namespace bits clear.
func TestSeccompCloneRule(t *testing.T) {
	var clones []specs.LinuxSyscall
	for _, r := range mustSeccomp(t, seccompTestCaps).Syscalls {
		if slices.Contains(r.Names, "clone") {
			clones = append(clones, r)
		}
	}
	if len(clones) != 1 {
		t.Fatalf("got %d rules naming clone, want 1: %+v", len(clones), clones)
	}
	r := clones[0]
	want := []specs.LinuxSeccompArg{{
		Index:    0,
		Value:    0x7e020000, // NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
		ValueTwo: 0,
		Op:       specs.OpMaskedEqual,
	}}
	if r.Action != specs.ActAllow || !reflect.DeepEqual(r.Args, want) || len(r.Names) != 1 {
		t.Errorf("clone rule = %+v, want ALLOW with %+v", r, want)
	}
	if r.Args[0].Value&unix.CLONE_NEWUSER == 0 {
		t.Errorf("clone mask %#x lets CLONE_NEWUSER through", r.Args[0].Value)
	}
}

func TestSeccompClone3(t *testing.T) {
	tests := []struct {
		caps      []string
		wantAct   specs.LinuxSeccompAction
		wantErrno uint
	}{
		// ENOSYS makes glibc fall back to clone, whose flags can be filtered.
		{seccompTestCaps, specs.ActErrno, 38},
		{withCaps("CAP_SYS_ADMIN"), specs.ActAllow, 0},
	}
	for _, tt := range tests {
		act, errno := seccompVerdict(mustSeccomp(t, tt.caps), "clone3")
		if act != tt.wantAct || errno != tt.wantErrno {
			t.Errorf("caps %v: clone3 -> %s/%d, want %s/%d", tt.caps, act, errno, tt.wantAct, tt.wantErrno)
		}
	}
}

func TestSeccompCapConditional(t *testing.T) {
	tests := []struct {
		cap      string
		syscalls []string
	}{
		{"CAP_SYS_ADMIN", []string{"mount", "umount2", "unshare", "setns", "fsopen", "move_mount", "bpf", "perf_event_open", "sethostname"}},
		{"CAP_SYS_MODULE", []string{"init_module", "finit_module", "delete_module"}},
		{"CAP_SYS_TIME", []string{"settimeofday", "clock_settime"}},
		{"CAP_SYS_BOOT", []string{"reboot"}},
		{"CAP_SYS_PACCT", []string{"acct"}},
		{"CAP_DAC_READ_SEARCH", []string{"open_by_handle_at"}},
		{"CAP_SYS_PTRACE", []string{"kcmp", "pidfd_getfd", "process_madvise"}},
		{"CAP_SYS_RAWIO", []string{"iopl", "ioperm"}},
		{"CAP_SYS_NICE", []string{"mbind", "set_mempolicy"}},
		{"CAP_SYSLOG", []string{"syslog"}},
		{"CAP_BPF", []string{"bpf"}},
		{"CAP_PERFMON", []string{"perf_event_open"}},
	}
	for _, tt := range tests {
		p := mustSeccomp(t, withCaps(tt.cap))
		for _, name := range tt.syscalls {
			if act, _ := seccompVerdict(p, name); act != specs.ActAllow {
				t.Errorf("with %s: %s -> %s, want allowed", tt.cap, name, act)
			}
		}
	}

	// With CAP_SYS_ADMIN the namespace filter on clone goes away.
	p := mustSeccomp(t, withCaps("CAP_SYS_ADMIN"))
	if act, _ := seccompVerdict(p, "clone", unix.CLONE_NEWUSER); act != specs.ActAllow {
		t.Errorf("with CAP_SYS_ADMIN: clone(CLONE_NEWUSER) -> %s, want allowed", act)
	}
	// Capabilities never unlock what moby never allows.
	for _, name := range []string{"kexec_load", "pivot_root", "swapon", "keyctl", "userfaultfd"} {
		if act, _ := seccompVerdict(p, name); act != specs.ActErrno {
			t.Errorf("with CAP_SYS_ADMIN: %s -> %s, want EPERM", name, act)
		}
	}
}

func TestSeccompArchRules(t *testing.T) {
	tests := []struct {
		name   string
		goarch string
		want   specs.LinuxSeccompAction
	}{
		{"arch_prctl", "amd64", specs.ActAllow},
		{"modify_ldt", "amd64", specs.ActAllow},
		{"set_tls", "amd64", specs.ActErrno},
		{"arch_prctl", "arm64", specs.ActErrno},
		{"modify_ldt", "arm64", specs.ActErrno},
		{"set_tls", "arm64", specs.ActAllow},
		{"cacheflush", "arm64", specs.ActAllow},
		{"sync_file_range2", "arm64", specs.ActAllow},
	}
	p := mustSeccomp(t, seccompTestCaps)
	for _, tt := range tests {
		if tt.goarch != goruntime.GOARCH {
			continue
		}
		if act, _ := seccompVerdict(p, tt.name); act != tt.want {
			t.Errorf("%s: %s -> %s, want %s", tt.goarch, tt.name, act, tt.want)
		}
	}
}

// Profiles built for different containers must not share backing arrays.
func TestSeccompProfilesIndependent(t *testing.T) {
	a := mustSeccomp(t, seccompTestCaps)
	a.Syscalls[0].Names[0] = "clobbered"
	a.Architectures = append(a.Architectures[:0], specs.ArchPPC)
	b := mustSeccomp(t, seccompTestCaps)
	if b.Syscalls[0].Names[0] == "clobbered" || slices.Contains(b.Architectures, specs.ArchPPC) {
		t.Error("mutating one profile changed the next")
	}
}

func TestSeccompJSON(t *testing.T) {
	p := mustSeccomp(t, withCaps("CAP_SYS_ADMIN"))
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back specs.LinuxSeccomp
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, &back) {
		t.Errorf("profile does not survive a JSON round trip:\n%s", data)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["defaultAction"] != "SCMP_ACT_ERRNO" || raw["defaultErrnoRet"] != float64(1) {
		t.Errorf("defaultAction/defaultErrnoRet = %v/%v", raw["defaultAction"], raw["defaultErrnoRet"])
	}
}
