package runtimetest

import (
	"context"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// testSudo checks what E2B's templates promise and programs written for
// them use: `user` runs sudo without a password, so no_new_privs is off for
// the sandbox's processes unless the spec asks for it. E2B's own SDK tests
// run `sudo echo "$FOO"` to check that per-command variables do not leak.
func (s *suite) testSudo(t *testing.T) {
	info := s.start(t, runtime.Limits{})
	out, errOut, code := s.runAs(t, info.ID, "user", `FOO=bar; sudo echo "$FOO"; sudo -n id -u`)
	if code != 0 || out != "bar\n0\n" {
		t.Errorf("sudo as user: exit %d, stdout %q, stderr %q; want bar and uid 0", code, out, errOut)
	}
	// The agent (pid 1) and so every process it starts may gain privileges.
	if got := s.mustRun(t, info.ID, `grep ^NoNewPrivs: /proc/1/status`); !strings.HasSuffix(got, "\t0") {
		t.Errorf("agent: %q, want NoNewPrivs 0", got)
	}

	// A sandbox created with NoNewPrivileges refuses setuid escalation.
	ctx := context.Background()
	id := newID("n")
	locked, err := s.d.Create(ctx, runtime.Spec{ID: id, Template: s.opts.Template, NoNewPrivileges: true})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() {
		if err := s.d.Destroy(context.Background(), id); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("destroy %s: %v", id, err)
		}
		assertNoLeftovers(t, s.d, locked)
	})
	if err := s.d.Start(ctx, id); err != nil {
		t.Fatalf("start: %v", err)
	}
	if out, _, code := s.runAs(t, id, "user", `sudo -n id -u`); code == 0 {
		t.Errorf("sudo with NoNewPrivileges succeeded: %q", out)
	}
	if got := s.mustRun(t, id, `grep ^NoNewPrivs: /proc/1/status`); !strings.HasSuffix(got, "\t1") {
		t.Errorf("agent with NoNewPrivileges: %q, want NoNewPrivs 1", got)
	}
}
