package bench

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/client"
)

// maxConsecutiveFailures ends a latency loop whose attempts keep failing:
// a broken server should not cost Iterations timeouts.
const maxConsecutiveFailures = 3

// sample times attempt Iterations times and summarises the attempts that
// succeeded. Every failure is counted in the report under name; sample
// fails (with the last failure, which it leaves to the caller to count)
// only when no attempt succeeded.
func (r *runner) sample(ctx context.Context, name string, attempt func(ctx context.Context) (time.Duration, error)) (*Percentiles, error) {
	var samples []time.Duration
	var pending error
	inRow := 0
	for i := 0; i < r.cfg.Iterations && inRow < maxConsecutiveFailures; i++ {
		d, err := attempt(ctx)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if pending != nil {
			r.fail(name, pending)
			pending = nil
		}
		if err != nil {
			pending = err
			inRow++
			continue
		}
		inRow = 0
		samples = append(samples, d)
	}
	if len(samples) == 0 {
		return nil, pending
	}
	if pending != nil {
		r.fail(name, pending)
	}
	p := Summarize(samples)
	return &p, nil
}

// measureCreate times create-to-first-command, from the pool or (cold)
// bypassing it. The kill after each sample is not timed.
func measureCreate(ctx context.Context, r *runner, cold bool) error {
	name := CreateWarm
	if cold {
		name = CreateCold
	}
	p, err := r.sample(ctx, name, func(ctx context.Context) (time.Duration, error) {
		if !cold {
			waitPoolReady(ctx, r.cl, r.cfg.Template)
		}
		start := time.Now()
		sb, err := r.fleet.create(ctx, cold)
		if err != nil {
			return 0, err
		}
		err = echoHi(ctx, r.cl, sb)
		took := time.Since(start)
		if kerr := r.fleet.kill(ctx, sb.SandboxID); kerr != nil {
			r.fail(name, kerr)
		}
		return took, err
	})
	if err != nil {
		return err
	}
	if cold {
		r.rep.CreateColdMs = p
	} else {
		r.rep.CreateWarmMs = p
	}
	return nil
}

// measureExec times echo hi in one running sandbox, back to back. Its
// first command is left out: that cost belongs to the create, measured
// above.
func measureExec(ctx context.Context, r *runner) error {
	return measureExecs(ctx, r, Exec, 0, &r.rep.ExecMs)
}

// execPause is how long a sandbox is left alone before each sample of
// ExecAfterPause: long enough for what the host and the agent keep warm
// between commands that follow each other to go cold.
const execPause = time.Second

// measureExecAfterPause times echo hi in one running sandbox after it was
// left alone for execPause, as an agent's commands usually are apart.
func measureExecAfterPause(ctx context.Context, r *runner) error {
	return measureExecs(ctx, r, ExecAfterPause, execPause, &r.rep.ExecAfterPauseMs)
}

// measureExecs times echo hi in one running sandbox, each sample after
// pause, into *into.
func measureExecs(ctx context.Context, r *runner, name string, pause time.Duration, into **Percentiles) error {
	return withSandbox(ctx, r, name, func(sb client.Sandbox) error {
		p, err := r.sample(ctx, name, func(ctx context.Context) (time.Duration, error) {
			if pause > 0 {
				select {
				case <-time.After(pause):
				case <-ctx.Done():
					return 0, ctx.Err()
				}
			}
			start := time.Now()
			err := echoHi(ctx, r.cl, sb)
			return time.Since(start), err
		})
		if err != nil {
			return err
		}
		*into = p
		return nil
	})
}

// echoHi runs `echo hi` in sb as the E2B SDKs run a command (a login bash
// through the server's proxy to the agent) and checks what it printed.
func echoHi(ctx context.Context, cl *client.Client, sb client.Sandbox) error {
	var out, errOut bytes.Buffer
	code, err := cl.Exec(ctx, sb, []string{"/bin/bash", "-l", "-c", "echo hi"}, client.ExecOptions{Stdout: &out, Stderr: &errOut})
	if err != nil {
		return fmt.Errorf("echo hi in sandbox %s: %w", sb.SandboxID, err)
	}
	if code != 0 || out.String() != "hi\n" {
		return fmt.Errorf("echo hi in sandbox %s: exit code %d, stdout %q, stderr %q", sb.SandboxID, code, out.String(), errOut.String())
	}
	return nil
}
