package tenancy

import (
	"context"
	"errors"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// Usage is what a team's live sandboxes hold.
type Usage struct {
	Sandboxes int `json:"sandboxes"`
	CPUs      int `json:"cpus"`
	MemoryMB  int `json:"memoryMB"`
}

// LiveSandboxes lists the team's starting, running and paused sandboxes.
func LiveSandboxes(ctx context.Context, st Store, team string) ([]store.Sandbox, error) {
	return st.ListSandboxes(ctx, store.SandboxFilter{Team: team, States: liveStates})
}

// TeamUsage sums the team's live (starting, running, paused) sandboxes.
func TeamUsage(ctx context.Context, st Store, team string) (Usage, error) {
	live, err := LiveSandboxes(ctx, st, team)
	if err != nil {
		return Usage{}, err
	}
	var u Usage
	for _, sb := range live {
		u.Sandboxes++
		u.CPUs += sb.CPUCount
		u.MemoryMB += sb.MemoryMB
	}
	return u, nil
}

// TeamQuota returns the team's quota; a team the store does not keep
// (keys made before teams) has none.
func TeamQuota(ctx context.Context, st store.Teams, team string) (store.Quota, error) {
	tm, err := st.GetTeam(ctx, team)
	if errors.Is(err, errdefs.ErrNotFound) {
		return store.Quota{}, nil
	}
	return tm.Quota, err
}

// Admit fails with ErrResourceExhausted, naming the limit, when one more
// sandbox of cpus vCPUs and memoryMB MiB would take u over q.
func Admit(q store.Quota, u Usage, cpus, memoryMB int) error {
	switch {
	case q.Sandboxes > 0 && u.Sandboxes+1 > q.Sandboxes:
		return fmt.Errorf("team quota of %d concurrent sandboxes reached (%d running or paused): kill one, or ask a server admin to raise the quota: %w",
			q.Sandboxes, u.Sandboxes, errdefs.ErrResourceExhausted)
	case q.CPUs > 0 && u.CPUs+cpus > q.CPUs:
		return fmt.Errorf("team quota of %d vCPUs would be exceeded: %d in use, this sandbox asks %d: kill a sandbox, ask for fewer, or ask a server admin to raise the quota: %w",
			q.CPUs, u.CPUs, cpus, errdefs.ErrResourceExhausted)
	case q.MemoryMB > 0 && u.MemoryMB+memoryMB > q.MemoryMB:
		return fmt.Errorf("team quota of %d MiB memory would be exceeded: %d MiB in use, this sandbox asks %d MiB: kill a sandbox, ask for less, or ask a server admin to raise the quota: %w",
			q.MemoryMB, u.MemoryMB, memoryMB, errdefs.ErrResourceExhausted)
	}
	return nil
}
