package telemetry

import (
	"context"
	"net"
	"time"

	"github.com/soulbox/soulbox/internal/runtime"
)

// Driver is what the wrapped runtime driver must be: the driver, able to
// dial into its sandboxes, and every optional ability the wrapper passes
// on (the OCI driver has them all).
type Driver interface {
	runtime.Driver
	runtime.Dialer
	runtime.Checkpointer
	runtime.Recreator
	runtime.Updater
	runtime.NetworkPolicer
	runtime.Prioritizer
	runtime.UserKiller
	runtime.LogReader
}

// Driver wraps d to time its calls by name and result. The wrapper has
// every optional ability of Driver, so type assertions on it find what d
// has. Reads that run on every scrape or monitor pass (Stats, Info, List,
// Logs, DialContext) pass through untimed.
func (m *Metrics) Driver(d Driver) Driver {
	if m == nil {
		return d
	}
	return &timedDriver{Driver: d, m: m}
}

type timedDriver struct {
	Driver
	m *Metrics
}

func (d *timedDriver) observe(call string, start time.Time, err error) {
	d.m.runtimeDuration.WithLabelValues(call, result(err)).Observe(time.Since(start).Seconds())
}

func (d *timedDriver) Create(ctx context.Context, spec runtime.Spec) (_ runtime.Info, err error) {
	defer func(t time.Time) { d.observe("create", t, err) }(time.Now())
	return d.Driver.Create(ctx, spec)
}

func (d *timedDriver) Start(ctx context.Context, id string) (err error) {
	defer func(t time.Time) { d.observe("start", t, err) }(time.Now())
	return d.Driver.Start(ctx, id)
}

func (d *timedDriver) Exec(ctx context.Context, id string, req runtime.ExecRequest) (_ runtime.ExecResult, err error) {
	defer func(t time.Time) { d.observe("exec", t, err) }(time.Now())
	return d.Driver.Exec(ctx, id, req)
}

func (d *timedDriver) Pause(ctx context.Context, id string) (err error) {
	defer func(t time.Time) { d.observe("pause", t, err) }(time.Now())
	return d.Driver.Pause(ctx, id)
}

func (d *timedDriver) Resume(ctx context.Context, id string) (err error) {
	defer func(t time.Time) { d.observe("resume", t, err) }(time.Now())
	return d.Driver.Resume(ctx, id)
}

func (d *timedDriver) Stop(ctx context.Context, id string) (err error) {
	defer func(t time.Time) { d.observe("stop", t, err) }(time.Now())
	return d.Driver.Stop(ctx, id)
}

func (d *timedDriver) Destroy(ctx context.Context, id string) (err error) {
	defer func(t time.Time) { d.observe("destroy", t, err) }(time.Now())
	return d.Driver.Destroy(ctx, id)
}

func (d *timedDriver) Checkpoint(ctx context.Context, id, dir string) (err error) {
	defer func(t time.Time) { d.observe("checkpoint", t, err) }(time.Now())
	return d.Driver.Checkpoint(ctx, id, dir)
}

func (d *timedDriver) Restore(ctx context.Context, id, dir string) (err error) {
	defer func(t time.Time) { d.observe("restore", t, err) }(time.Now())
	return d.Driver.Restore(ctx, id, dir)
}

func (d *timedDriver) Recreate(ctx context.Context, id string) (err error) {
	defer func(t time.Time) { d.observe("recreate", t, err) }(time.Now())
	return d.Driver.Recreate(ctx, id)
}

func (d *timedDriver) Update(ctx context.Context, id string, l runtime.Limits) (err error) {
	defer func(t time.Time) { d.observe("update", t, err) }(time.Now())
	return d.Driver.Update(ctx, id, l)
}

func (d *timedDriver) SetNetworkPolicy(ctx context.Context, id string, p runtime.NetworkPolicy) (err error) {
	defer func(t time.Time) { d.observe("set_network_policy", t, err) }(time.Now())
	return d.Driver.SetNetworkPolicy(ctx, id, p)
}

func (d *timedDriver) KillUserProcesses(ctx context.Context, id string) (err error) {
	defer func(t time.Time) { d.observe("kill_user_processes", t, err) }(time.Now())
	return d.Driver.KillUserProcesses(ctx, id)
}

func (d *timedDriver) DialContext(ctx context.Context, id string, port int) (net.Conn, error) {
	return d.Driver.DialContext(ctx, id, port)
}
