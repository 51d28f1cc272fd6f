package oci

import (
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/soulbox/soulbox/internal/runtime"
)

// agentPathInSandbox is where the agent binary appears in every sandbox.
const agentPathInSandbox = "/usr/local/bin/soulbox-agent"

// defaultPath is the PATH of processes started in a sandbox.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// sandboxCaps is the capability set of root inside a sandbox: Docker's
// default set without CAP_NET_RAW (raw sockets are a common attack surface
// and ping works without it through ping_group_range) and CAP_MKNOD
// (device nodes are useless behind the device cgroup). They are all
// namespaced to the sandbox's user namespace, so they act only on what the
// sandbox owns.
var sandboxCaps = []string{
	"CAP_AUDIT_WRITE",      // login tools write audit records
	"CAP_CHOWN",            // package managers chown files
	"CAP_DAC_OVERRIDE",     // root reads and writes any file it owns
	"CAP_FOWNER",           // chmod/utime files of other users
	"CAP_FSETID",           // keep setgid bits on chmod
	"CAP_KILL",             // signal other users' processes
	"CAP_NET_BIND_SERVICE", // listen on ports below 1024
	"CAP_SETFCAP",          // install packages with file capabilities
	"CAP_SETGID",           // su, sudo, useradd
	"CAP_SETPCAP",          // drop capabilities before exec
	"CAP_SETUID",           // su, sudo, the agent starting user processes
	"CAP_SYS_CHROOT",       // chroot for build tools
}

// maskedPaths and readonlyPaths are Docker's defaults: kernel interfaces
// that leak host information or change the host.
var (
	maskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	readonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// bundleSpec holds what the config.json of one sandbox is made from.
type bundleSpec struct {
	id        string
	rootfs    string
	hostUID   uint32
	limits    runtime.Limits
	env       map[string]string
	agentPath string // on the host
	noNewPriv bool   // Spec.NoNewPrivileges
	// compat32 keeps the host's 32-bit system call ABIs open, filtered
	// (Config.Compat32).
	compat32 bool
	runtime  string
	// cgroupsPath is the sandbox's cgroup relative to the hierarchy root.
	cgroupsPath string
	// userCgroups tells the agent its cgroup files (usercgroup.go).
	userCgroups string
	// criuConfig is the CRIU configuration file runc reads on checkpoint
	// and restore (criu.go).
	criuConfig string
}

// ociSpec writes the runtime-spec config of a sandbox.
func ociSpec(b bundleSpec) *specs.Spec {
	env := []string{"PATH=" + defaultPath, "HOME=/root", "LANG=C.UTF-8", "SOULBOX_SANDBOX_ID=" + b.id}
	keys := make([]string, 0, len(b.env))
	for k := range b.env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+b.env[k])
	}
	if b.userCgroups != "" {
		env = append(env, userCgroupEnv+"="+b.userCgroups)
	}

	caps := append([]string(nil), sandboxCaps...)
	filter := seccompFor(b.compat32)
	memory := int64(b.limits.MemoryMB) << 20
	pids := int64(b.limits.Pids)
	quota := int64(b.limits.CPUCount) * 100000
	period := uint64(100000)

	s := &specs.Spec{
		Version:     specs.Version,
		Annotations: map[string]string{criuConfigAnnotation: b.criuConfig},
		Hostname:    b.id,
		Root:        &specs.Root{Path: b.rootfs},
		Process: &specs.Process{
			Args: []string{agentPathInSandbox},
			Env:  env,
			Cwd:  "/",
			User: specs.User{UID: 0, GID: 0},
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Effective: caps,
				Permitted: caps,
			},
			NoNewPrivileges: b.noNewPriv,
		},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
			{Destination: agentPathInSandbox, Type: "bind", Source: b.agentPath, Options: []string{"bind", "ro", "nosuid", "nodev"}},
		},
		Linux: &specs.Linux{
			UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: b.hostUID, Size: idRange}},
			GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: b.hostUID, Size: idRange}},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.NetworkNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
				{Type: specs.CgroupNamespace},
				{Type: specs.UserNamespace},
			},
			CgroupsPath: b.cgroupsPath,
			Resources: &specs.LinuxResources{
				// Deny every device but the runtime's defaults (null, zero,
				// full, random, urandom, tty, ptmx, pts).
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
				Memory:  &specs.LinuxMemory{Limit: &memory},
				CPU:     &specs.LinuxCPU{Quota: &quota, Period: &period},
				Pids:    &specs.LinuxPids{Limit: &pids},
			},
			Seccomp:       filter,
			MaskedPaths:   maskedPaths,
			ReadonlyPaths: readonlyPaths,
			// A sandbox's mounts never propagate back to the host.
			RootfsPropagation: "rprivate",
		},
	}
	if b.runtime == "runsc" {
		adaptSpecForRunsc(s)
	}
	if b.runtime == "crun" {
		// crun before 1.9 (Debian 12 ships 1.8.1) refuses a config of any
		// runtime-spec version after 1.1 as "unknown version specified";
		// nothing this config uses is newer than 1.1.
		s.Version = crunSpecVersion
	}
	return s
}

// crunSpecVersion is the runtime-spec version of the configs given to crun.
const crunSpecVersion = "1.1.0"
