package runtimetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func (s *suite) testBadInput(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		spec runtime.Spec
		want error
	}{
		{"UnknownTemplate", runtime.Spec{Template: "no-such-template"}, errdefs.ErrNotFound},
		{"EmptyTemplate", runtime.Spec{}, errdefs.ErrInvalidArgument},
		{"NegativeCPU", runtime.Spec{Limits: runtime.Limits{CPUCount: -1}}, errdefs.ErrInvalidArgument},
		{"TooManyCPUs", runtime.Spec{Limits: runtime.Limits{CPUCount: 100000}}, errdefs.ErrInvalidArgument},
		{"NegativeMemory", runtime.Spec{Limits: runtime.Limits{MemoryMB: -512}}, errdefs.ErrInvalidArgument},
		{"TinyMemory", runtime.Spec{Limits: runtime.Limits{MemoryMB: 1}}, errdefs.ErrInvalidArgument},
		{"AbsurdMemory", runtime.Spec{Limits: runtime.Limits{MemoryMB: 1 << 40}}, errdefs.ErrInvalidArgument},
		{"AbsurdDisk", runtime.Spec{Limits: runtime.Limits{DiskMB: 1 << 40}}, errdefs.ErrInvalidArgument},
		{"NegativePids", runtime.Spec{Limits: runtime.Limits{Pids: -5}}, errdefs.ErrInvalidArgument},
		{"UnknownRuntime", runtime.Spec{Runtime: "docker"}, errdefs.ErrInvalidArgument},
		{"BadEnvName", runtime.Spec{Env: map[string]string{"A=B": "c"}}, errdefs.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec
			spec.ID = newID("b")
			if spec.Template == "" && tc.name != "EmptyTemplate" {
				spec.Template = s.opts.Template
			}
			_, err := s.d.Create(ctx, spec)
			wantErr(t, err, tc.want, "create")
			assertNoLeftovers(t, s.d, runtime.Info{ID: spec.ID})
		})
	}
	for _, id := range []string{"", "../etc", "UPPER", "a/b", "-lead", "trail-", string(make([]byte, 64))} {
		t.Run(fmt.Sprintf("ID%q", id), func(t *testing.T) {
			_, err := s.d.Create(ctx, runtime.Spec{ID: id, Template: s.opts.Template})
			wantErr(t, err, errdefs.ErrInvalidArgument, "create")
			wantErr(t, s.d.Destroy(ctx, id), errdefs.ErrInvalidArgument, "destroy")
			_, err = s.d.Exec(ctx, id, runtime.ExecRequest{Args: []string{"true"}})
			wantErr(t, err, errdefs.ErrInvalidArgument, "exec")
		})
	}
	t.Run("DuplicateID", func(t *testing.T) {
		info := s.start(t, runtime.Limits{})
		s.mustRun(t, info.ID, "echo first > /root/who")
		_, err := s.d.Create(ctx, runtime.Spec{ID: info.ID, Template: s.opts.Template})
		wantErr(t, err, errdefs.ErrAlreadyExists, "duplicate create")
		// The first sandbox is untouched.
		if got := s.mustRun(t, info.ID, "cat /root/who"); got != "first" {
			t.Errorf("first sandbox after duplicate create: %q", got)
		}
	})
	t.Run("UnknownSandbox", func(t *testing.T) {
		id := newID("u")
		wantErr(t, s.d.Start(ctx, id), errdefs.ErrNotFound, "start")
		wantErr(t, s.d.Pause(ctx, id), errdefs.ErrNotFound, "pause")
		wantErr(t, s.d.Stop(ctx, id), errdefs.ErrNotFound, "stop")
		wantErr(t, s.d.Destroy(ctx, id), errdefs.ErrNotFound, "destroy")
		_, err := s.d.Stats(ctx, id)
		wantErr(t, err, errdefs.ErrNotFound, "stats")
	})
}

func (s *suite) testFaultyCreate(t *testing.T, faulty runtime.Driver) {
	ctx := context.Background()
	id := newID("f")
	_, err := faulty.Create(ctx, runtime.Spec{ID: id, Template: s.opts.Template})
	if err == nil {
		_ = faulty.Destroy(ctx, id)
		t.Fatal("create with a failing runtime succeeded")
	}
	assertNoLeftovers(t, faulty, runtime.Info{ID: id})
	// The id is free again.
	info := s.start(t, runtime.Limits{})
	_ = info
}
