package oci

import (
	"time"

	"golang.org/x/sys/unix"
)

// phaseFunc receives the wall time and the CPU time of one step of a
// create, start or destroy. CPU is this process's and that of the child
// processes it waited for (the runtime's commands, mkfs): what the server
// pays for the step. Work a runtime hands to a process it does not wait
// for (the container's init until it becomes the agent) is charged to the
// sandbox's cgroup instead, which is why the benchmarks read that too.
type phaseFunc func(phase string, wall, cpu time.Duration)

// phase starts timing the step name and returns the function that ends
// it. Without a phaseFunc it costs nothing but a nil check.
func (d *Driver) phase(name string) (end func()) {
	if d.phases == nil {
		return func() {}
	}
	start, cpu0 := time.Now(), cpuTime()
	return func() { d.phases(name, time.Since(start), cpuTime()-cpu0) }
}

// cpuTime is the user and system time of this process and of its
// waited-for children so far.
func cpuTime() time.Duration {
	var total time.Duration
	for _, who := range []int{unix.RUSAGE_SELF, unix.RUSAGE_CHILDREN} {
		var ru unix.Rusage
		if unix.Getrusage(who, &ru) == nil {
			total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return total
}
