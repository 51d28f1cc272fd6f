package reaper

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
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

// StartIn runs every start through its runner, and a failing runner
// starts nothing.
func TestStartInWrapsStarts(t *testing.T) {
	r := New()
	var log []string
	r.StartIn(func(start func()) error {
		log = append(log, "enter")
		start()
		log = append(log, "leave")
		return nil
	})
	if _, _, err := r.Start(func() (int, error) { log = append(log, "start"); return 1 << 30, nil }); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(log, ","); got != "enter,start,leave" {
		t.Errorf("order %s", got)
	}
	r.StartIn(func(func()) error { return errors.New("no cgroup") })
	started := false
	if _, _, err := r.Start(func() (int, error) { started = true; return 1, nil }); err == nil || started {
		t.Errorf("failing runner: err %v, started %v", err, started)
	}
}
