package mountinfo

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	table := `22 1 0:21 / /proc rw,nosuid shared:5 - proc proc rw
30 25 0:26 / /sys/fs/cgroup/pids rw,nosuid shared:13 - cgroup cgroup rw,pids
31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
40 1 7:3 /data/sub /mnt/with\040space rw master:1 unbindable - ext4 /dev/loop3 rw
41 1 0:50 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
garbage line
42 1 0:51 / /x rw -
`
	got, err := Parse(strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mount{
		{ID: 22, Dev: "0:21", Root: "/", Point: "/proc", FSType: "proc", Source: "proc", SuperOptions: []string{"rw"}},
		{ID: 30, Dev: "0:26", Root: "/", Point: "/sys/fs/cgroup/pids", FSType: "cgroup", Source: "cgroup", SuperOptions: []string{"rw", "pids"}},
		{ID: 31, Dev: "0:27", Root: "/", Point: "/sys/fs/cgroup/cpu,cpuacct", FSType: "cgroup", Source: "cgroup", SuperOptions: []string{"rw", "cpu", "cpuacct"}},
		{ID: 40, Dev: "7:3", Root: "/data/sub", Point: "/mnt/with space", FSType: "ext4", Source: "/dev/loop3", SuperOptions: []string{"rw"}},
		{ID: 41, Dev: "0:50", Root: "/", Point: "/sys/fs/cgroup/unified", FSType: "cgroup2", Source: "cgroup2", SuperOptions: []string{"rw", "nsdelegate"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/a\040b`: "/a b", `/tab\011x`: "/tab\tx", `/back\134slash`: `/back\slash`,
		`/plain`: "/plain", `/short\04`: `/short\04`, `/bad\999`: `/bad\999`,
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadHasRoot(t *testing.T) {
	ms, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range ms {
		found = found || m.Point == "/"
	}
	if !found {
		t.Error("the running system's table has no / mount")
	}
	if under, err := Under("/"); err != nil || len(under) != len(ms) {
		t.Errorf("Under(/) = %d mounts (%v), want all %d", len(under), err, len(ms))
	}
}

// A process's table is its mount namespace's: ours, for ourselves.
func TestReadPidIsReadForSelf(t *testing.T) {
	self, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	byPid, err := ReadPid(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if len(self) == 0 || len(self) != len(byPid) || self[0].ID == 0 || self[0].ID != byPid[0].ID {
		t.Errorf("Read: %d mounts (first id %d), ReadPid: %d", len(self), self[0].ID, len(byPid))
	}
	if _, err := ReadPid(-1); err == nil {
		t.Error("ReadPid(-1) succeeded")
	}
}
