package usercgroup

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A malformed value still leaves no inherited file to started processes.
func TestParseClosesOnExecEvenWhenRefusing(t *testing.T) {
	var fds []int
	for range 2 {
		fd, err := unix.Open(os.DevNull, unix.O_WRONLY, 0) // no O_CLOEXEC, as inherited
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		fds = append(fds, fd)
	}
	v := "user=" + strconv.Itoa(fds[0]) + ",x;home=" + strconv.Itoa(fds[1])
	if _, err := Parse(v); err == nil {
		t.Fatalf("Parse(%q) accepted", v)
	}
	for _, fd := range fds {
		if flags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); flags&unix.FD_CLOEXEC == 0 {
			t.Errorf("fd %d is inherited by started processes after a refused value", fd)
		}
	}
}

func TestParseRefusesBadValues(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "tasks")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := strconv.Itoa(int(f.Fd()))
	for _, v := range []string{
		"", "user=", "user=" + fd, "user=" + fd + ";home=", "user=x;home=" + fd,
		"user=1;home=2", "user=" + fd + ";home=999", "user=" + fd + ";home=" + fd + ";other=" + fd,
		"user=" + fd + "," + fd + ";home=" + fd,
	} {
		if _, err := Parse(v); err == nil {
			t.Errorf("Parse(%q) accepted", v)
		}
	}
	m, err := Parse("user=" + fd + ";home=" + fd)
	if err != nil {
		t.Fatal(err)
	}
	if flags, _ := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0); flags&unix.FD_CLOEXEC == 0 {
		t.Error("the files are inherited by started processes")
	}
	// The starter writes its thread's id to the files once, and runs
	// every function on that thread.
	st := m.Starter()
	var tids []int
	for i := range 2 {
		if err := st.Run(func() { tids = append(tids, unix.Gettid()) }); err != nil {
			t.Fatal(err)
		}
		want := strconv.Itoa(tids[0])
		if i > 0 {
			want = "" // not written again
		}
		b, _ := os.ReadFile(f.Name())
		if strings.TrimSpace(string(b)) != want {
			t.Errorf("start %d: tasks file holds %q, want %q", i, b, want)
		}
		if err := f.Truncate(0); err != nil {
			t.Fatal(err)
		}
	}
	if tids[0] != tids[1] {
		t.Errorf("runs on threads %v, want one", tids)
	}
}

// On real cgroups: the starter's thread enters the user cgroup once,
// forks its children there, and enters again if something moved it out
// (as a restore may), while the calling thread stays where it was.
func TestStarterInRealCgroups(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make cgroups")
	}
	root := "/sys/fs/cgroup/pids"
	if _, err := os.Stat(filepath.Join(root, "tasks")); err != nil {
		t.Skip("no cgroup v1 pids hierarchy here")
	}
	dir := filepath.Join(root, fmt.Sprintf("soulbox-usercgroup-test-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	user, err := os.OpenFile(filepath.Join(dir, "tasks"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer user.Close()
	home, err := os.OpenFile(filepath.Join(root, "tasks"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer home.Close()
	m := &Mover{user: []int{int(user.Fd())}, home: []int{int(home.Fd())}}
	st := m.Starter()
	// The starter's thread lives as long as this process: it leaves the
	// test's cgroup before the cgroup is removed.
	t.Cleanup(func() {
		_ = st.Run(func() { _ = os.WriteFile(filepath.Join(root, "tasks"), []byte(strconv.Itoa(unix.Gettid())), 0) })
		if err := os.Remove(dir); err != nil {
			t.Errorf("remove the test's cgroup: %v", err)
		}
	})
	where := func() string {
		b, _ := os.ReadFile("/proc/thread-self/cgroup")
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.SplitN(l, ":", 3); len(f) == 3 && strings.Contains(f[1], "pids") {
				return f[2]
			}
		}
		return ""
	}
	rel := "/" + filepath.Base(dir)
	var in string
	var tid int
	var child int
	run := func() {
		t.Helper()
		if err := st.Run(func() {
			in, tid = where(), unix.Gettid()
			cmd := exec.Command("/bin/sh", "-c", "cat /proc/self/cgroup")
			out, _ := cmd.Output()
			child = 0
			if strings.Contains(string(out), "pids:"+rel+"\n") {
				child = 1
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if !strings.HasSuffix(in, rel) || child != 1 {
		t.Errorf("starter thread in %q, child in it: %v; want %s", in, child == 1, rel)
	}
	if got := where(); strings.HasSuffix(got, rel) {
		t.Errorf("the calling thread moved too: %q", got)
	}
	// Moved out from outside, it enters again at the next start.
	if _, err := home.WriteString(strconv.Itoa(tid)); err != nil {
		t.Fatal(err)
	}
	run()
	if !strings.HasSuffix(in, rel) || child != 1 {
		t.Errorf("after a move out: starter thread in %q, child in it: %v", in, child == 1)
	}
}
