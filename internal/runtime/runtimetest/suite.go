// Package runtimetest is the conformance suite every runtime.Driver must
// pass: real sandboxes, real isolation checks, and checks that nothing is
// left behind. Drivers call Run from their own tests:
//
//	func TestConformance(t *testing.T) {
//		runtimetest.Run(t, newDriver, runtimetest.Options{Template: "base"})
//	}
//
// The suite needs a template with bash, coreutils, python3, util-linux and
// a user named "user" with uid 1000 (the base template has them).
package runtimetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// Options configure the suite.
type Options struct {
	// Template is the template every sandbox of the suite is created from.
	Template string
	// NewFaultyDriver, if set, returns a driver over the same host whose
	// runtime fails half-way through Create. The suite checks that the
	// failure is reported and leaves nothing behind.
	NewFaultyDriver func(t *testing.T) runtime.Driver
	// Network says the driver gives sandboxes a link (eth0) besides
	// loopback.
	Network bool
}

// LeakChecker is what a driver can tell about its own leftovers beyond
// what the suite checks on the host by itself: processes, mounts and
// cgroups.
type LeakChecker interface {
	// Leftovers describes whatever the driver still holds for id.
	Leftovers(ctx context.Context, id string) []string
}

// Run runs the suite against drivers made by newDriver.
func Run(t *testing.T, newDriver func(t *testing.T) runtime.Driver, opts Options) {
	d := newDriver(t)
	s := &suite{d: d, opts: opts}
	t.Run("Isolation", s.testIsolation)
	t.Run("Exec", s.testExec)
	t.Run("TemplateLayerIsReadOnly", s.testTemplateUnchanged)
	t.Run("MemoryLimitOOMKillsInside", s.testOOM)
	t.Run("PidsLimitStopsForkBomb", s.testForkBomb)
	t.Run("ForkBombLeavesAgentRoom", s.testForkBombHeadroom)
	t.Run("ForbiddenOperations", s.testForbidden)
	t.Run("SudoAsUser", s.testSudo)
	t.Run("DiskQuota", s.testDiskQuota)
	t.Run("PauseResume", s.testPauseResume)
	t.Run("Stats", s.testStats)
	t.Run("StopThenDestroy", s.testStopDestroy)
	t.Run("BadInput", s.testBadInput)
	t.Run("Concurrent", s.testConcurrent)
	t.Run("Dial", s.testDial)
	t.Run("CheckpointRestore", s.testCheckpointRestore)
	t.Run("CheckpointBadInput", s.testCheckpointBadInput)
	t.Run("Recreate", s.testRecreate)
	if opts.NewFaultyDriver != nil {
		t.Run("FailureHalfWayLeavesNothing", func(t *testing.T) {
			s.testFaultyCreate(t, opts.NewFaultyDriver(t))
		})
	}
}

type suite struct {
	d    runtime.Driver
	opts Options
}

var idSeq struct {
	sync.Mutex
	n int
}

// newID returns a sandbox id unique to this test process.
func newID(prefix string) string {
	idSeq.Lock()
	defer idSeq.Unlock()
	idSeq.n++
	return fmt.Sprintf("rt%s%d%x", prefix, idSeq.n, time.Now().UnixNano()&0xffffff)
}

// start creates and starts a sandbox, destroying it when the test ends.
func (s *suite) start(t *testing.T, limits runtime.Limits) runtime.Info {
	t.Helper()
	ctx := context.Background()
	id := newID("s")
	info, err := s.d.Create(ctx, runtime.Spec{ID: id, Template: s.opts.Template, Limits: limits})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() {
		if err := s.d.Destroy(context.Background(), id); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("destroy %s: %v", id, err)
		}
		assertNoLeftovers(t, s.d, info)
	})
	if err := s.d.Start(ctx, id); err != nil {
		t.Fatalf("start: %v", err)
	}
	if info, err = s.d.Info(ctx, id); err != nil {
		t.Fatalf("info: %v", err)
	}
	if info.Status != runtime.StatusRunning {
		t.Fatalf("status after start = %s, want running", info.Status)
	}
	return info
}

// run executes a shell command in the sandbox as root.
func (s *suite) run(t *testing.T, id, script string) (stdout, stderr string, code int) {
	t.Helper()
	return s.runAs(t, id, "root", script)
}

func (s *suite) runAs(t *testing.T, id, user, script string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := s.d.Exec(ctx, id, runtime.ExecRequest{
		Args: []string{"/bin/bash", "-c", script}, User: user, Stdout: &out, Stderr: &errOut,
	})
	if err != nil {
		t.Fatalf("exec %q: %v", script, err)
	}
	return out.String(), errOut.String(), res.ExitCode
}

// mustRun executes a shell command as root and fails the test unless it
// exits 0; it returns stdout without the trailing newline.
func (s *suite) mustRun(t *testing.T, id, script string) string {
	t.Helper()
	out, errOut, code := s.run(t, id, script)
	if code != 0 {
		t.Fatalf("%q exited %d: %s%s", script, code, out, errOut)
	}
	return strings.TrimRight(out, "\n")
}

func wantErr(t *testing.T, err, category error, what string) {
	t.Helper()
	if !errors.Is(err, category) {
		t.Errorf("%s: error = %v, want %v", what, err, category)
	}
}
