// Package bench measures a SoulBox server the way its users meet it:
// through its API and its sandbox traffic proxy, with the client the CLI
// uses. It times creating a sandbox up to its first command with and
// without the warm pool, a command's round trip, output streaming, file
// transfers, creates per second and the memory of idle sandboxes, and
// runs the bare OCI runtime beside them as a baseline, so that a number
// can be read against the machine it was taken on.
//
// Every sandbox the bench creates is tagged with the run's id and killed
// before Run returns, also after an interrupt.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/soulbox/soulbox/internal/client"
)

// skipped is the error of a measurement that cannot run in this setting
// (not root, no template on this host): reported, not a failure.
type skipped struct{ reason string }

func (s skipped) Error() string { return s.reason }

// runner is the state of one run.
type runner struct {
	cfg      Config
	cl       *client.Client
	fleet    *fleet
	rep      *Report
	progress io.Writer

	mu sync.Mutex // guards rep.Errors
}

// measurement runs one measurement and fills its fields of the report.
type measurement func(ctx context.Context, r *runner) error

var measurements = map[string]measurement{
	RuntimeBaseline: measureBaseline,
	CreateCold:      func(ctx context.Context, r *runner) error { return measureCreate(ctx, r, true) },
	CreateWarm:      func(ctx context.Context, r *runner) error { return measureCreate(ctx, r, false) },
	Exec:            measureExec,
	ExecAfterPause:  measureExecAfterPause,
	Stdout:          measureStdout,
	Files:           measureFiles,
	AgentFiles:      measureAgentFiles,
	APILoadName:     measureAPILoad,
	RunLoadName:     measureRunLoad,
	Creates:         measureCreates,
	Idle:            measureIdle,
}

// Run runs the selected measurements against the server cl talks to and
// returns the report. Failures of single measurements are in the report,
// not the error; the error says the run as a whole did not finish (it was
// interrupted, or its sandboxes could not all be killed), and the report
// then holds what was measured until then.
func Run(ctx context.Context, cl *client.Client, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &runner{
		cfg:      cfg,
		cl:       cl,
		fleet:    newFleet(cl, cfg.Template),
		rep:      newReport(cfg, cl.BaseURL),
		progress: cfg.Progress,
	}
	if r.progress == nil {
		r.progress = io.Discard
	}
	r.rep.Machine = describeMachine(ctx, cl)
	for _, name := range Names() {
		if !cfg.selected(name) || ctx.Err() != nil {
			continue
		}
		fmt.Fprintf(r.progress, "bench: %s\n", name)
		err := measurements[name](ctx, r)
		var skip skipped
		switch {
		case err == nil:
		case errors.As(err, &skip):
			r.rep.Skipped[name] = skip.reason
		case ctx.Err() != nil:
			// Interrupted: not a failure of the measurement.
		default:
			r.fail(name, err)
		}
	}
	r.rep.finish()
	n, cleanErr := r.fleet.cleanup(ctx)
	if n > 0 {
		fmt.Fprintf(r.progress, "bench: killed %d sandboxes left at the end\n", n)
	}
	if cleanErr != nil {
		r.fail("cleanup", cleanErr)
		return r.rep, fmt.Errorf("sandboxes of this run may be left (metadata %s=%s): %w", MetadataKey, r.fleet.tag, cleanErr)
	}
	if err := ctx.Err(); err != nil {
		return r.rep, fmt.Errorf("bench interrupted: %w", err)
	}
	return r.rep, nil
}

// fail counts an error of a measurement; the first message is kept.
func (r *runner) fail(name string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.rep.Errors {
		if r.rep.Errors[i].Measurement == name {
			r.rep.Errors[i].Count++
			return
		}
	}
	r.rep.Errors = append(r.rep.Errors, Failure{Measurement: name, Count: 1, Message: err.Error()})
}
