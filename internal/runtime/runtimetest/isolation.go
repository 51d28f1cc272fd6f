package runtimetest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/runtime"
)

func (s *suite) testIsolation(t *testing.T) {
	info := s.start(t, runtime.Limits{})

	t.Run("HostnameIsSandboxID", func(t *testing.T) {
		if got := s.mustRun(t, info.ID, "hostname"); got != info.ID {
			t.Errorf("hostname = %q, want %q", got, info.ID)
		}
	})
	t.Run("Pid1IsTheAgent", func(t *testing.T) {
		if got := s.mustRun(t, info.ID, "cat /proc/1/comm"); got != "soulbox-agent" {
			t.Errorf("pid 1 is %q, want soulbox-agent", got)
		}
	})
	t.Run("HostProcessesInvisible", func(t *testing.T) {
		out := s.mustRun(t, info.ID, "ps -e -o pid=,comm=")
		lines := strings.Split(out, "\n")
		// The agent, bash and ps: a handful, against hundreds on the host.
		if len(lines) > 5 {
			t.Errorf("sandbox sees %d processes, want only its own:\n%s", len(lines), out)
		}
		self := strconv.Itoa(os.Getpid())
		if _, _, code := s.run(t, info.ID, "test -d /proc/"+self+" && grep -q soulbox /proc/"+self+"/cmdline"); code == 0 {
			t.Errorf("the host's test process (pid %s) is visible in the sandbox", self)
		}
	})
	t.Run("RootIsUnprivilegedOnHost", func(t *testing.T) {
		if info.HostUID == 0 {
			t.Fatal("sandbox root maps to host uid 0")
		}
		// Seen from the host, the agent (root inside) runs as HostUID.
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", info.Pid))
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("Uid:\t%d\t%d\t%d\t%d", info.HostUID, info.HostUID, info.HostUID, info.HostUID)
		if !strings.Contains(string(status), want) {
			t.Errorf("agent's host uids: want %q in\n%s", want, status)
		}
		// Seen from inside, root is uid 0 of a namespace mapped to HostUID.
		if got := strings.Fields(s.mustRun(t, info.ID, "cat /proc/self/uid_map")); len(got) != 3 ||
			got[0] != "0" || got[1] != strconv.FormatUint(uint64(info.HostUID), 10) {
			t.Errorf("uid_map = %v, want 0 %d <n>", got, info.HostUID)
		}
		if got := s.mustRun(t, info.ID, "id -u"); got != "0" {
			t.Errorf("id -u = %s, want 0", got)
		}
	})
	t.Run("DistinctUIDRangePerSandbox", func(t *testing.T) {
		other := s.start(t, runtime.Limits{})
		lo, hi := info.HostUID, info.HostUID+65536
		if other.HostUID >= lo && other.HostUID < hi {
			t.Errorf("sandboxes %s and %s share host uid range at %d", info.ID, other.ID, other.HostUID)
		}
	})
	t.Run("NetworkIsolated", func(t *testing.T) {
		// A network namespace of its own: loopback only, or loopback and
		// its link; /sys shows none of the host's devices.
		want := "lo"
		if s.opts.Network {
			want = "eth0 lo"
		}
		out := s.mustRun(t, info.ID, "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' '")
		if strings.TrimSpace(out) != want {
			t.Errorf("network devices = %q, want %q", out, want)
		}
		if out := s.mustRun(t, info.ID, "ls /sys/class/net | grep -vx -e lo -e eth0 || true"); strings.TrimSpace(out) != "" {
			t.Errorf("/sys/class/net shows devices that are not the sandbox's: %q", out)
		}
	})
	t.Run("ReadOnlyAndMaskedKernelPaths", func(t *testing.T) {
		if out := s.mustRun(t, info.ID, "wc -c < /proc/kcore; cat /proc/keys | wc -c"); strings.Fields(out)[0] != "0" {
			t.Errorf("/proc/kcore is readable: %q", out)
		}
		if _, _, code := s.run(t, info.ID, "echo 1 > /sys/kernel/mm/ksm/run"); code == 0 {
			t.Error("writing /sys succeeded")
		}
	})
}
