package cli_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestConnectInATerminal drives `soulbox sandbox connect` in a real
// pseudo-terminal, as a person at a terminal would: type a command, read
// its output, resize the window, leave with Ctrl-D, and find the local
// terminal's settings as they were.
func TestConnectInATerminal(t *testing.T) {
	e := newCLIEnv(t)
	id, _, _ := e.run(t, "", "sandbox", "create")
	id = strings.TrimSpace(id)

	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, _ := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: 100, Row: 30})
	before, _ := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)

	cmd := exec.Command(e.bin, "sandbox", "connect", id)
	cmd.Env = append(os.Environ(), "E2B_API_URL="+e.url, "E2B_API_KEY="+e.key, "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	var mu sync.Mutex
	var screen strings.Builder
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			ok := strings.Contains(screen.String(), what)
			mu.Unlock()
			if ok {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("never saw %q on the terminal:\n%s", what, screen.String())
	}
	// While connected the local terminal is raw: the CLI makes it so once
	// the remote terminal is open.
	isRaw := func() bool {
		raw, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
		return err == nil && raw.Lflag&unix.ICANON == 0 && raw.Lflag&unix.ECHO == 0
	}
	for deadline := time.Now().Add(15 * time.Second); !isRaw(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Error("local terminal not in raw mode while connected")
			break
		}
	}
	master.Write([]byte("echo sum=$((40+2)); stty size\r"))
	waitFor("sum=42")
	waitFor("30 100")
	// Resize the window: the kernel sends SIGWINCH to the CLI, which
	// passes the new size on; ask until the remote terminal has it.
	unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: 150, Row: 50})
	resized := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(screen.String(), "50 150")
	}
	for deadline := time.Now().Add(15 * time.Second); !resized() && time.Now().Before(deadline); {
		master.Write([]byte("stty size\r"))
		for next := time.Now().Add(500 * time.Millisecond); !resized() && time.Now().Before(next); {
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("50 150")
	master.Write([]byte{4}) // Ctrl-D
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("connect exited with %v", err)
		}
	case <-time.After(15 * time.Second):
		// Seen once in CI on a loaded host and not reproduced since: the
		// session went on. A second Ctrl-D tells a lost keystroke (the
		// test goes on, and says so) from a session Ctrl-D cannot end.
		t.Log("the session outlived Ctrl-D for 15 s; sending another")
		master.Write([]byte{4})
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("connect exited with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Ctrl-D did not end the session")
		}
	}
	after, _ := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
		t.Errorf("terminal settings not restored: lflag %x -> %x, iflag %x -> %x", before.Lflag, after.Lflag, before.Iflag, after.Iflag)
	}
}

func TestConnectWithoutTerminal(t *testing.T) {
	e := newCLIEnv(t)
	_, errOut, code := e.run(t, "", "sandbox", "connect", "whatever")
	if code == 0 || !strings.Contains(errOut, "needs a terminal") {
		t.Errorf("%d %q", code, errOut)
	}
}
