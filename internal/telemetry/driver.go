package telemetry

import (
	"context"
	"net"
	"time"

	"go.opentelemetry.io/otel/trace"

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
	runtime.NetworkRepairer
	runtime.Prioritizer
	runtime.UserKiller
	runtime.LogReader
	runtime.WritableLayerReader
	runtime.Cloner
	runtime.ProcessCloner
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

// trace starts the span of one call on sandbox id.
func (d *timedDriver) trace(ctx context.Context, call, id string) (context.Context, func(error)) {
	if d.m.tracer == nil {
		return ctx, noEnd
	}
	return d.m.span(ctx, "runtime."+call, trace.SpanKindInternal, sandboxAttr(id))
}

func (d *timedDriver) Create(ctx context.Context, spec runtime.Spec) (_ runtime.Info, err error) {
	ctx, end := d.trace(ctx, "create", spec.ID)
	defer func(t time.Time) { end(err); d.observe("create", t, err) }(time.Now())
	return d.Driver.Create(ctx, spec)
}

func (d *timedDriver) Start(ctx context.Context, id string) (err error) {
	ctx, end := d.trace(ctx, "start", id)
	defer func(t time.Time) { end(err); d.observe("start", t, err) }(time.Now())
	return d.Driver.Start(ctx, id)
}

func (d *timedDriver) Exec(ctx context.Context, id string, req runtime.ExecRequest) (_ runtime.ExecResult, err error) {
	ctx, end := d.trace(ctx, "exec", id)
	defer func(t time.Time) { end(err); d.observe("exec", t, err) }(time.Now())
	return d.Driver.Exec(ctx, id, req)
}

func (d *timedDriver) Pause(ctx context.Context, id string) (err error) {
	ctx, end := d.trace(ctx, "pause", id)
	defer func(t time.Time) { end(err); d.observe("pause", t, err) }(time.Now())
	return d.Driver.Pause(ctx, id)
}

func (d *timedDriver) Resume(ctx context.Context, id string) (err error) {
	ctx, end := d.trace(ctx, "resume", id)
	defer func(t time.Time) { end(err); d.observe("resume", t, err) }(time.Now())
	return d.Driver.Resume(ctx, id)
}

func (d *timedDriver) Stop(ctx context.Context, id string) (err error) {
	ctx, end := d.trace(ctx, "stop", id)
	defer func(t time.Time) { end(err); d.observe("stop", t, err) }(time.Now())
	return d.Driver.Stop(ctx, id)
}

func (d *timedDriver) Destroy(ctx context.Context, id string) (err error) {
	ctx, end := d.trace(ctx, "destroy", id)
	defer func(t time.Time) { end(err); d.observe("destroy", t, err) }(time.Now())
	return d.Driver.Destroy(ctx, id)
}

func (d *timedDriver) Checkpoint(ctx context.Context, id, dir string) (err error) {
	ctx, end := d.trace(ctx, "checkpoint", id)
	defer func(t time.Time) { end(err); d.observe("checkpoint", t, err) }(time.Now())
	return d.Driver.Checkpoint(ctx, id, dir)
}

func (d *timedDriver) Restore(ctx context.Context, id, dir string) (err error) {
	ctx, end := d.trace(ctx, "restore", id)
	defer func(t time.Time) { end(err); d.observe("restore", t, err) }(time.Now())
	return d.Driver.Restore(ctx, id, dir)
}

func (d *timedDriver) Recreate(ctx context.Context, id string) (err error) {
	ctx, end := d.trace(ctx, "recreate", id)
	defer func(t time.Time) { end(err); d.observe("recreate", t, err) }(time.Now())
	return d.Driver.Recreate(ctx, id)
}

func (d *timedDriver) Release(ctx context.Context, id string) (err error) {
	ctx, end := d.trace(ctx, "release", id)
	defer func(t time.Time) { end(err); d.observe("release", t, err) }(time.Now())
	return d.Driver.Release(ctx, id)
}

func (d *timedDriver) RepairNetwork(ctx context.Context, id string) (err error) {
	ctx, end := d.trace(ctx, "repair_network", id)
	defer func(t time.Time) { end(err); d.observe("repair_network", t, err) }(time.Now())
	return d.Driver.RepairNetwork(ctx, id)
}

func (d *timedDriver) Update(ctx context.Context, id string, l runtime.Limits) (err error) {
	ctx, end := d.trace(ctx, "update", id)
	defer func(t time.Time) { end(err); d.observe("update", t, err) }(time.Now())
	return d.Driver.Update(ctx, id, l)
}

func (d *timedDriver) SetNetworkPolicy(ctx context.Context, id string, p runtime.NetworkPolicy) (err error) {
	ctx, end := d.trace(ctx, "set_network_policy", id)
	defer func(t time.Time) { end(err); d.observe("set_network_policy", t, err) }(time.Now())
	return d.Driver.SetNetworkPolicy(ctx, id, p)
}

func (d *timedDriver) KillUserProcesses(ctx context.Context, id string) (err error) {
	ctx, end := d.trace(ctx, "kill_user_processes", id)
	defer func(t time.Time) { end(err); d.observe("kill_user_processes", t, err) }(time.Now())
	return d.Driver.KillUserProcesses(ctx, id)
}

func (d *timedDriver) DialContext(ctx context.Context, id string, port int) (net.Conn, error) {
	return d.Driver.DialContext(ctx, id, port)
}
