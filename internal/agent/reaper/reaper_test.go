package reaper

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

func TestDeliversExitStatusOfRegisteredChildren(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := New()
	go r.Run(ctx)
	for _, tc := range []struct {
		script string
		code   int
	}{{"exit 0", 0}, {"exit 7", 7}, {"kill -9 $$", -1}} {
		// An immediate exit races the registration: it must still arrive.
		_, ch, err := r.Start(func() (int, error) {
			cmd := exec.Command("/bin/sh", "-c", tc.script)
			if err := cmd.Start(); err != nil {
				return 0, err
			}
			return cmd.Process.Pid, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case ws := <-ch:
			if tc.code >= 0 && ws.ExitStatus() != tc.code {
				t.Errorf("%q: exit status %d, want %d", tc.script, ws.ExitStatus(), tc.code)
			}
			if tc.code < 0 && !ws.Signaled() {
				t.Errorf("%q: not reported as signalled: %v", tc.script, ws)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%q: no exit status", tc.script)
		}
	}
}

func TestReapsUnregisteredChildren(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := New()
	go r.Run(ctx)
	// A child nobody waits for: the reaper must collect it.
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat("/proc/" + strconv.Itoa(p.Pid)); os.IsNotExist(err) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("unregistered child was not reaped")
}
