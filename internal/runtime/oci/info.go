package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/soulbox/soulbox/internal/runtime"
)

// Info returns the sandbox's current state.
func (d *Driver) Info(ctx context.Context, id string) (runtime.Info, error) {
	if err := runtime.ValidateID(id); err != nil {
		return runtime.Info{}, err
	}
	st, err := d.readState(id)
	if err != nil {
		return runtime.Info{}, err
	}
	return d.info(ctx, st)
}

func (d *Driver) info(ctx context.Context, st sandboxState) (runtime.Info, error) {
	status, pid, err := d.status(ctx, st)
	if err != nil {
		return runtime.Info{}, err
	}
	return runtime.Info{
		ID: st.ID, Template: st.Template, Runtime: st.Runtime, Status: status, Pid: pid,
		CreatedAt: st.CreatedAt, Limits: st.Limits, HostUID: st.HostUID,
	}, nil
}

// status maps the runtime's view of the container to a Status. A sandbox
// whose container the runtime does not know (a create that failed, or a
// host that rebooted) is stopped.
func (d *Driver) status(ctx context.Context, st sandboxState) (runtime.Status, int, error) {
	cs, err := d.state(ctx, st.Runtime, st.ID)
	if errors.Is(err, errContainerNotExist) {
		return runtime.StatusStopped, 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("sandbox %q: %w", st.ID, err)
	}
	switch cs.Status {
	case "created", "creating":
		return runtime.StatusCreated, cs.Pid, nil
	case "running":
		return runtime.StatusRunning, cs.Pid, nil
	case "paused", "pausing":
		return runtime.StatusPaused, cs.Pid, nil
	default:
		return runtime.StatusStopped, 0, nil
	}
}

// List returns every sandbox with a trace on this host: a directory, a
// runtime container or a cgroup. Traces without a state file are listed
// as stopped with only their id, so that a reconciler can Destroy them.
func (d *Driver) List(ctx context.Context) ([]runtime.Info, error) {
	ids := map[string]bool{}
	entries, err := os.ReadDir(d.sandboxesDir())
	if err != nil {
		return nil, fmt.Errorf("list sandboxes: %w", err)
	}
	for _, e := range entries {
		ids[e.Name()] = true
	}
	for _, rt := range knownRuntimes {
		cs, err := d.listContainers(ctx, rt)
		if err != nil {
			return nil, err
		}
		for _, id := range cs {
			ids[id] = true
		}
	}
	for _, id := range d.cgroups.leftovers() {
		ids[id] = true
	}
	if d.network != nil {
		nids, err := d.network.List(ctx)
		if err != nil {
			return nil, err
		}
		for _, id := range nids {
			ids[id] = true
		}
	}
	out := make([]runtime.Info, 0, len(ids))
	for id := range ids {
		st, err := d.readState(id)
		if err != nil {
			out = append(out, runtime.Info{ID: id, Status: runtime.StatusStopped})
			continue
		}
		info, err := d.info(ctx, st)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
