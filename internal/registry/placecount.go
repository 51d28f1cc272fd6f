package registry

import (
	"github.com/soulbox/soulbox/internal/scheduler"
	"github.com/soulbox/soulbox/internal/store"
)

// withStoreCounts returns nodes with what the store records running on
// each: a joined node's sandboxes, CPUs and memory are the larger of
// the store's sum of its live sandboxes and its last heartbeat's (a
// heartbeat is late by up to its interval, the store is current the
// moment a create is acknowledged; the heartbeat still sees what the
// store does not, like sandboxes being destroyed). The team's live
// sandboxes on every node are counted too, so that creates that come
// together spread. nodes is not modified.
func withStoreCounts(nodes []scheduler.Node, live []store.Sandbox, team, embedded string) []scheduler.Node {
	type use struct {
		n, cpu, team int
		mem          uint64
	}
	per := map[string]*use{}
	for _, sb := range live {
		id := sb.Node
		if id == "" {
			id = embedded
		}
		u := per[id]
		if u == nil {
			u = &use{}
			per[id] = u
		}
		u.n++
		u.cpu += sb.CPUCount
		u.mem += uint64(sb.MemoryMB) << 20
		if team != "" && sb.ClientID == team {
			u.team++
		}
	}
	out := make([]scheduler.Node, len(nodes))
	copy(out, nodes)
	for i := range out {
		u := per[out[i].ID]
		if u == nil {
			u = &use{}
		}
		if team != "" {
			out[i].TeamSandboxes = map[string]int{team: u.team}
		}
		if out[i].Unmetered {
			continue
		}
		out[i].Sandboxes = max(out[i].Sandboxes, u.n)
		out[i].AllocatedCPU = max(out[i].AllocatedCPU, u.cpu)
		out[i].AllocatedMemory = max(out[i].AllocatedMemory, u.mem)
	}
	return out
}
