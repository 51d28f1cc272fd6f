package runtimetest

import "fmt"

// HostLeftovers lists what the host still holds of sandbox id, judged from
// the host alone: mounts and cgroups named after it and live processes in
// its uid range (from hostUID, 0 when unknown). Suites that drive
// sandboxes through a server, and so hold no runtime.Driver of their own
// for every check, call it after the sandbox has ended.
func HostLeftovers(id string, hostUID uint32) []string {
	var out []string
	for _, m := range mountsNaming(id) {
		out = append(out, "mount "+m)
	}
	for _, c := range cgroupsNaming(id) {
		out = append(out, "cgroup "+c)
	}
	if hostUID != 0 {
		for _, p := range processesInRange(hostUID, hostUID+65536, id) {
			out = append(out, fmt.Sprintf("process %s (uid range from %d)", p, hostUID))
		}
	}
	return out
}

// CgroupMounts lists the host's cgroup (v1 and v2) mount points.
func CgroupMounts() []string { return cgroupMounts() }

// CgroupsNaming lists the host's cgroup directories named id.
func CgroupsNaming(id string) []string { return cgroupsNaming(id) }
