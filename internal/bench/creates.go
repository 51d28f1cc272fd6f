package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// measureCreates keeps Concurrency workers creating and killing sandboxes
// for Duration and reports the pairs that succeeded per second. A create
// in flight when the time is up is finished and counted, and the rate is
// taken over the time until the last one ended, so the tail neither
// inflates nor deflates it.
func measureCreates(ctx context.Context, r *runner) error {
	window, cancel := context.WithTimeout(ctx, r.cfg.Duration)
	defer cancel()
	var created, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range r.cfg.Concurrency {
		wg.Go(func() {
			for window.Err() == nil {
				sb, err := r.fleet.create(window, false)
				if err == nil {
					err = r.fleet.kill(ctx, sb.SandboxID)
				}
				switch {
				case err == nil:
					created.Add(1)
				case err == window.Err() && ctx.Err() == nil:
					// The window closed before this create was sent:
					// create returns ctx.Err() itself, unwrapped, then.
				case ctx.Err() != nil:
					return
				default:
					failed.Add(1)
					r.fail(Creates, err)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return err
	}
	run := &CreatesRun{
		Concurrency: r.cfg.Concurrency, DurationSec: roundTo(elapsed.Seconds(), 2),
		Created: int(created.Load()), Errors: int(failed.Load()),
	}
	rate := roundTo(float64(run.Created)/elapsed.Seconds(), 2)
	r.rep.CreatesRun, r.rep.CreatesPerSec = run, &rate
	return nil
}
