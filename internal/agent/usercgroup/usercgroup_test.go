package usercgroup

import (
	"os"
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
	// Enter and leave write the thread's id to the files.
	leave, err := m.Enter()
	if err != nil {
		t.Fatal(err)
	}
	tid := strconv.Itoa(unix.Gettid())
	leave()
	b, _ := os.ReadFile(f.Name())
	if strings.TrimSpace(string(b)) != tid {
		t.Errorf("tasks file holds %q, want the thread id %s", b, tid)
	}
}
