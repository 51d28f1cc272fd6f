package oci

import (
	goruntime "runtime"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// This file is a port of Docker's default seccomp profile, taken from
// github.com/moby/profiles seccomp/default_linux.go (default.json is
// generated from it) at commit 02e898b137aed1024e232d59bcb05e6179b72177.
// Using that profile as-is means a sandbox gets the same syscall surface that
// years of `docker run` have shaken out, rather than a list of our own.
//
// Differences from moby, and why:
//   - moby's "minKernel" conditions are dropped and their rules kept: the only
//     one gates ptrace and process_vm_* on Linux 4.8 (where ptrace stopped
//     being able to bypass seccomp), and our hosts run Linux 6 or later.
//   - Only amd64 and arm64 are supported, so the ppc64le, s390 and riscv64
//     rules (including the s390 variant of the clone filter, so on s390 clone
//     stays denied) are left out.
//
// Keep the lists in moby's order so the two can be diffed when moby changes.

// seccompRule is one entry of moby's profile before its conditions are
// resolved: the OCI rule plus the capability/architecture filters moby uses
// to decide whether a given container gets it.
type seccompRule struct {
	specs.LinuxSyscall
	includes seccompFilter // the rule applies only if every condition holds
	excludes seccompFilter // the rule is dropped if any condition holds
}

// seccompFilter names capabilities ("CAP_SYS_ADMIN") and architectures in
// moby's spelling, which for amd64 and arm64 is Go's GOARCH.
type seccompFilter struct {
	caps   []string
	arches []string
}

// seccompArches is moby's archMap restricted to the architectures we run on:
// the native one plus the compat ABIs its kernel can also execute, so a
// 32-bit binary cannot reach syscalls through a second, unfiltered table.
var seccompArches = map[string][]specs.Arch{
	"amd64": {specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
	"arm64": {specs.ArchAARCH64, specs.ArchARM},
}

// seccompAllowed is moby's unconditional allow list. Names unknown to an older
// libseccomp, or absent on the running architecture, are skipped by runc.
var seccompAllowed = []string{
	"accept",
	"accept4",
	"access",
	"adjtimex",
	"alarm",
	"bind",
	"brk",
	"cachestat",
	"capget",
	"capset",
	"chdir",
	"chmod",
	"chown",
	"chown32",
	"clock_adjtime",
	"clock_adjtime64",
	"clock_getres",
	"clock_getres_time64",
	"clock_gettime",
	"clock_gettime64",
	"clock_nanosleep",
	"clock_nanosleep_time64",
	"close",
	"close_range",
	"connect",
	"copy_file_range",
	"creat",
	"dup",
	"dup2",
	"dup3",
	"epoll_create",
	"epoll_create1",
	"epoll_ctl",
	"epoll_ctl_old",
	"epoll_pwait",
	"epoll_pwait2",
	"epoll_wait",
	"epoll_wait_old",
	"eventfd",
	"eventfd2",
	"execve",
	"execveat",
	"exit",
	"exit_group",
	"faccessat",
	"faccessat2",
	"fadvise64",
	"fadvise64_64",
	"fallocate",
	"fanotify_mark",
	"fchdir",
	"fchmod",
	"fchmodat",
	"fchmodat2",
	"fchown",
	"fchown32",
	"fchownat",
	"fcntl",
	"fcntl64",
	"fdatasync",
	"fgetxattr",
	"flistxattr",
	"flock",
	"fork",
	"fremovexattr",
	"fsetxattr",
	"fstat",
	"fstat64",
	"fstatat64",
	"fstatfs",
	"fstatfs64",
	"fsync",
	"ftruncate",
	"ftruncate64",
	"futex",
	"futex_requeue",
	"futex_time64",
	"futex_wait",
	"futex_waitv",
	"futex_wake",
	"futimesat",
	"getcpu",
	"getcwd",
	"getdents",
	"getdents64",
	"getegid",
	"getegid32",
	"geteuid",
	"geteuid32",
	"getgid",
	"getgid32",
	"getgroups",
	"getgroups32",
	"getitimer",
	"getpeername",
	"getpgid",
	"getpgrp",
	"getpid",
	"getppid",
	"getpriority",
	"getrandom",
	"getresgid",
	"getresgid32",
	"getresuid",
	"getresuid32",
	"getrlimit",
	"get_robust_list",
	"getrusage",
	"getsid",
	"getsockname",
	"getsockopt",
	"get_thread_area",
	"gettid",
	"gettimeofday",
	"getuid",
	"getuid32",
	"getxattr",
	"getxattrat",
	"inotify_add_watch",
	"inotify_init",
	"inotify_init1",
	"inotify_rm_watch",
	"io_cancel",
	"ioctl",
	"io_destroy",
	"io_getevents",
	"io_pgetevents",
	"io_pgetevents_time64",
	"ioprio_get",
	"ioprio_set",
	"io_setup",
	"io_submit",
	"ipc",
	"kill",
	"landlock_add_rule",
	"landlock_create_ruleset",
	"landlock_restrict_self",
	"lchown",
	"lchown32",
	"lgetxattr",
	"link",
	"linkat",
	"listen",
	"listmount",
	"listxattr",
	"listxattrat",
	"llistxattr",
	"_llseek",
	"lremovexattr",
	"lseek",
	"lsetxattr",
	"lstat",
	"lstat64",
	"madvise",
	"map_shadow_stack",
	"membarrier",
	"memfd_create",
	"memfd_secret",
	"mincore",
	"mkdir",
	"mkdirat",
	"mknod",
	"mknodat",
	"mlock",
	"mlock2",
	"mlockall",
	"mmap",
	"mmap2",
	"mprotect",
	"mq_getsetattr",
	"mq_notify",
	"mq_open",
	"mq_timedreceive",
	"mq_timedreceive_time64",
	"mq_timedsend",
	"mq_timedsend_time64",
	"mq_unlink",
	"mremap",
	"mseal",
	"msgctl",
	"msgget",
	"msgrcv",
	"msgsnd",
	"msync",
	"munlock",
	"munlockall",
	"munmap",
	"name_to_handle_at",
	"nanosleep",
	"newfstatat",
	"_newselect",
	"open",
	"openat",
	"openat2",
	"pause",
	"pidfd_open",
	"pidfd_send_signal",
	"pipe",
	"pipe2",
	"pkey_alloc",
	"pkey_free",
	"pkey_mprotect",
	"poll",
	"ppoll",
	"ppoll_time64",
	"prctl",
	"pread64",
	"preadv",
	"preadv2",
	"prlimit64",
	"process_mrelease",
	"pselect6",
	"pselect6_time64",
	"pwrite64",
	"pwritev",
	"pwritev2",
	"read",
	"readahead",
	"readlink",
	"readlinkat",
	"readv",
	"recv",
	"recvfrom",
	"recvmmsg",
	"recvmmsg_time64",
	"recvmsg",
	"remap_file_pages",
	"removexattr",
	"removexattrat",
	"rename",
	"renameat",
	"renameat2",
	"restart_syscall",
	"riscv_hwprobe",
	"rmdir",
	"rseq",
	"rt_sigaction",
	"rt_sigpending",
	"rt_sigprocmask",
	"rt_sigqueueinfo",
	"rt_sigreturn",
	"rt_sigsuspend",
	"rt_sigtimedwait",
	"rt_sigtimedwait_time64",
	"rt_tgsigqueueinfo",
	"sched_getaffinity",
	"sched_getattr",
	"sched_getparam",
	"sched_get_priority_max",
	"sched_get_priority_min",
	"sched_getscheduler",
	"sched_rr_get_interval",
	"sched_rr_get_interval_time64",
	"sched_setaffinity",
	"sched_setattr",
	"sched_setparam",
	"sched_setscheduler",
	"sched_yield",
	"seccomp",
	"select",
	"semctl",
	"semget",
	"semop",
	"semtimedop",
	"semtimedop_time64",
	"send",
	"sendfile",
	"sendfile64",
	"sendmmsg",
	"sendmsg",
	"sendto",
	"setfsgid",
	"setfsgid32",
	"setfsuid",
	"setfsuid32",
	"setgid",
	"setgid32",
	"setgroups",
	"setgroups32",
	"setitimer",
	"setpgid",
	"setpriority",
	"setregid",
	"setregid32",
	"setresgid",
	"setresgid32",
	"setresuid",
	"setresuid32",
	"setreuid",
	"setreuid32",
	"setrlimit",
	"set_robust_list",
	"setsid",
	"setsockopt",
	"set_thread_area",
	"set_tid_address",
	"setuid",
	"setuid32",
	"setxattr",
	"setxattrat",
	"shmat",
	"shmctl",
	"shmdt",
	"shmget",
	"shutdown",
	"sigaltstack",
	"signalfd",
	"signalfd4",
	"sigprocmask",
	"sigreturn",
	"socketcall",
	"socketpair",
	"splice",
	"stat",
	"stat64",
	"statfs",
	"statfs64",
	"statmount",
	"statx",
	"symlink",
	"symlinkat",
	"sync",
	"sync_file_range",
	"syncfs",
	"sysinfo",
	"tee",
	"tgkill",
	"time",
	"timer_create",
	"timer_delete",
	"timer_getoverrun",
	"timer_gettime",
	"timer_gettime64",
	"timer_settime",
	"timer_settime64",
	"timerfd_create",
	"timerfd_gettime",
	"timerfd_gettime64",
	"timerfd_settime",
	"timerfd_settime64",
	"times",
	"tkill",
	"truncate",
	"truncate64",
	"ugetrlimit",
	"umask",
	"uname",
	"unlink",
	"unlinkat",
	"uretprobe",
	"utime",
	"utimensat",
	"utimensat_time64",
	"utimes",
	"vfork",
	"vmsplice",
	"wait4",
	"waitid",
	"waitpid",
	"write",
	"writev",
}

// seccompSocketDomains are the address families socket(2) may create, in
// numeric order. moby leaves out families the kernel no longer implements
// (AF_DECnet, AF_ECONET, AF_ATMSVC, AF_IRDA, AF_WANPIPE, AF_ISDN, AF_CAIF) and
// blocks on purpose AF_ALG (raw access to the kernel crypto API, a recurring
// source of exploits) and AF_VSOCK (host/guest sockets that are not confined
// by the network namespace by default, so a container could reach any VM on
// the host).
var seccompSocketDomains = []uint64{
	unix.AF_UNIX,
	unix.AF_INET,
	unix.AF_AX25,
	unix.AF_IPX,
	unix.AF_APPLETALK,
	unix.AF_NETROM,
	unix.AF_BRIDGE,
	unix.AF_ATMPVC,
	unix.AF_X25,
	unix.AF_INET6,
	unix.AF_ROSE,
	unix.AF_NETBEUI,
	unix.AF_SECURITY,
	unix.AF_KEY,
	unix.AF_NETLINK,
	unix.AF_PACKET,
	unix.AF_ASH,
	unix.AF_RDS,
	unix.AF_SNA,
	unix.AF_PPPOX,
	unix.AF_LLC,
	unix.AF_IB,
	unix.AF_MPLS,
	unix.AF_CAN,
	unix.AF_TIPC,
	unix.AF_BLUETOOTH,
	unix.AF_IUCV,
	unix.AF_RXRPC,
	unix.AF_PHONET,
	unix.AF_IEEE802154,
	unix.AF_NFC,
	unix.AF_KCM,
	unix.AF_QIPCRTR,
	unix.AF_SMC,
	unix.AF_XDP,
	unix.AF_MCTP,
}

// cloneNamespaceFlags are the clone(2) flags that create namespaces. Without
// CAP_SYS_ADMIN the kernel already refuses all of them except CLONE_NEWUSER;
// masking them all is what keeps an unprivileged container from creating
// user namespaces, the entry point of many kernel exploits.
const cloneNamespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// seccompProfile returns the sandbox seccomp profile: Docker's default
// profile resolved for caps (the container's bounding set) and the host
// architecture. Syscalls it does not allow fail with EPERM.
func seccompProfile(caps []string) *specs.LinuxSeccomp {
	return buildSeccompProfile(caps, goruntime.GOARCH)
}

// buildSeccompProfile is seccompProfile for an explicit GOARCH, so tests can
// check the rules of every supported architecture from one machine.
func buildSeccompProfile(caps []string, goarch string) *specs.LinuxSeccomp {
	// EPERM, as in moby: a refused syscall reads as "not permitted" rather
	// than as missing from the kernel.
	eperm := uint(unix.EPERM)
	p := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &eperm,
		Architectures:   slices.Clone(seccompArches[goarch]),
	}
	for _, r := range seccompRules() {
		if r.appliesTo(caps, goarch) {
			p.Syscalls = append(p.Syscalls, r.LinuxSyscall)
		}
	}
	return p
}

// appliesTo resolves moby's includes/excludes the way moby's setupSeccomp does.
func (r seccompRule) appliesTo(caps []string, goarch string) bool {
	if slices.Contains(r.excludes.arches, goarch) {
		return false
	}
	for _, c := range r.excludes.caps {
		if slices.Contains(caps, c) {
			return false
		}
	}
	if len(r.includes.arches) > 0 && !slices.Contains(r.includes.arches, goarch) {
		return false
	}
	for _, c := range r.includes.caps {
		if !slices.Contains(caps, c) {
			return false
		}
	}
	return true
}

// seccompRules returns moby's rules in moby's order. It builds fresh values on
// every call so no caller can alter another container's profile.
func seccompRules() []seccompRule {
	enosys := uint(unix.ENOSYS)

	rules := []seccompRule{
		allowSyscalls(slices.Clone(seccompAllowed)...),
		// moby gates these on Linux >= 4.8, where ptrace can no longer be used
		// to bypass seccomp; ptrace of one's own processes is what debuggers,
		// strace and many language runtimes need.
		allowSyscalls("process_vm_readv", "process_vm_writev", "ptrace"),
	}
	rules = append(rules, socketRules()...)
	rules = append(rules,
		// personality(2) only for the execution domains normal programs use:
		// PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and 0xffffffff,
		// which queries the current one. Others (e.g. ADDR_NO_RANDOMIZE) would
		// weaken the process's own hardening.
		allowWithArg("personality", 0, 0x0, specs.OpEqualTo),
		allowWithArg("personality", 0, 0x0008, specs.OpEqualTo),
		allowWithArg("personality", 0, 0x20000, specs.OpEqualTo),
		allowWithArg("personality", 0, 0x20008, specs.OpEqualTo),
		allowWithArg("personality", 0, 0xffffffff, specs.OpEqualTo),

		allowSyscalls("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",
			"breakpoint", "cacheflush", "set_tls").onArches("arm", "arm64"),
		allowSyscalls("arch_prctl").onArches("amd64", "x32"),
		allowSyscalls("modify_ldt").onArches("amd64", "x32", "x86"),

		// Everything below is only as powerful as the capability guarding it
		// in the kernel, so it is allowed exactly when the container has it.
		allowSyscalls("open_by_handle_at").ifCap("CAP_DAC_READ_SEARCH"),
		allowSyscalls(
			"bpf",
			"clone",
			"clone3",
			"fanotify_init",
			"fsconfig",
			"fsmount",
			"fsopen",
			"fspick",
			"lookup_dcookie",
			"lsm_get_self_attr",
			"lsm_list_modules",
			"lsm_set_self_attr",
			"mount",
			"mount_setattr",
			"move_mount",
			"open_tree",
			"perf_event_open",
			"quotactl",
			"quotactl_fd",
			"setdomainname",
			"sethostname",
			"setns",
			"syslog",
			"umount",
			"umount2",
			"unshare",
		).ifCap("CAP_SYS_ADMIN"),
		// Without CAP_SYS_ADMIN, clone(2) is allowed only when its flags
		// (argument 0; 1 on s390, hence the exclusion) create no namespace.
		allowWithMaskedArg("clone", 0, cloneNamespaceFlags, 0).
			unlessCap("CAP_SYS_ADMIN").notOnArches("s390", "s390x"),
		// clone3(2) passes its flags in a struct seccomp cannot read, so it
		// cannot be filtered like clone. ENOSYS makes glibc and others fall
		// back to clone(2), which can.
		seccompRule{
			LinuxSyscall: specs.LinuxSyscall{
				Names:    []string{"clone3"},
				Action:   specs.ActErrno,
				ErrnoRet: &enosys,
			},
			excludes: seccompFilter{caps: []string{"CAP_SYS_ADMIN"}},
		},
		allowSyscalls("reboot").ifCap("CAP_SYS_BOOT"),
		allowSyscalls("chroot").ifCap("CAP_SYS_CHROOT"),
		allowSyscalls("delete_module", "init_module", "finit_module").ifCap("CAP_SYS_MODULE"),
		allowSyscalls("acct").ifCap("CAP_SYS_PACCT"),
		allowSyscalls("kcmp", "pidfd_getfd", "process_madvise",
			"process_vm_readv", "process_vm_writev", "ptrace").ifCap("CAP_SYS_PTRACE"),
		allowSyscalls("iopl", "ioperm").ifCap("CAP_SYS_RAWIO"),
		allowSyscalls("settimeofday", "stime", "clock_settime", "clock_settime64").ifCap("CAP_SYS_TIME"),
		allowSyscalls("vhangup").ifCap("CAP_SYS_TTY_CONFIG"),
		allowSyscalls("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node").ifCap("CAP_SYS_NICE"),
		allowSyscalls("syslog").ifCap("CAP_SYSLOG"),
		allowSyscalls("bpf").ifCap("CAP_BPF"),
		allowSyscalls("perf_event_open").ifCap("CAP_PERFMON"),
	)
	return rules
}

// socketRules allows socket(2) for seccompSocketDomains. runc turns several
// conditions on one argument into separate OR-ed rules, so a bounded range
// cannot be expressed; only the leading run starting at AF_UNIX becomes one
// "less than" rule (AF_UNSPEC below it cannot be created), every other domain
// gets its own equality rule. socketcall(2), which hides the domain behind a
// pointer on 32-bit x86, stays allowed above, as in moby.
func socketRules() []seccompRule {
	domains := slices.Sorted(slices.Values(seccompSocketDomains))
	run := 1
	for run < len(domains) && domains[run] == domains[run-1]+1 {
		run++
	}
	var rules []seccompRule
	if domains[0] == unix.AF_UNIX && run > 1 {
		rules = append(rules, allowWithArg("socket", 0, domains[run-1]+1, specs.OpLessThan))
	} else {
		run = 0
	}
	for _, d := range domains[run:] {
		rules = append(rules, allowWithArg("socket", 0, d, specs.OpEqualTo))
	}
	return rules
}

func allowSyscalls(names ...string) seccompRule {
	return seccompRule{LinuxSyscall: specs.LinuxSyscall{Names: names, Action: specs.ActAllow}}
}

func allowWithArg(name string, index uint, value uint64, op specs.LinuxSeccompOperator) seccompRule {
	r := allowSyscalls(name)
	r.Args = []specs.LinuxSeccompArg{{Index: index, Value: value, Op: op}}
	return r
}

func allowWithMaskedArg(name string, index uint, mask, want uint64) seccompRule {
	r := allowSyscalls(name)
	r.Args = []specs.LinuxSeccompArg{{Index: index, Value: mask, ValueTwo: want, Op: specs.OpMaskedEqual}}
	return r
}

func (r seccompRule) ifCap(c string) seccompRule {
	r.includes.caps = append(slices.Clip(r.includes.caps), c)
	return r
}

func (r seccompRule) unlessCap(c string) seccompRule {
	r.excludes.caps = append(slices.Clip(r.excludes.caps), c)
	return r
}

func (r seccompRule) onArches(arches ...string) seccompRule {
	r.includes.arches = append(slices.Clip(r.includes.arches), arches...)
	return r
}

func (r seccompRule) notOnArches(arches ...string) seccompRule {
	r.excludes.arches = append(slices.Clip(r.excludes.arches), arches...)
	return r
}
