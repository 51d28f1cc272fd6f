package registry

import (
	"github.com/soulbox/soulbox/internal/scheduler"
	"github.com/soulbox/soulbox/internal/store"
)

// withStoreCounts returns nodes with what the store records running on
// each (usage, store.NodeUsage's rows; "" is the embedded node): a
// joined node's sandboxes, CPUs and memory are the larger of the
// store's sum of its live sandboxes and its last heartbeat's (a
// heartbeat is late by up to its interval, the store is current the
// moment a create is acknowledged; the heartbeat still sees what the
// store does not, like sandboxes being destroyed). The team's live
// sandboxes on every node are counted too, so that creates that come
// together spread. nodes is not modified.
func withStoreCounts(nodes []scheduler.Node, usage []store.NodeUsage, team, embedded string) []scheduler.Node {
	per := make(map[string]store.NodeUsage, len(usage))
	for _, u := range usage {
		id := u.Node
		if id == "" {
			id = embedded
		}
		per[id] = u
	}
	out := make([]scheduler.Node, len(nodes))
	copy(out, nodes)
	for i := range out {
		u := per[out[i].ID]
		if team != "" {
			out[i].TeamSandboxes = map[string]int{team: u.TeamSandboxes}
		}
		if out[i].Unmetered {
			continue
		}
		out[i].Sandboxes = max(out[i].Sandboxes, u.Sandboxes)
		out[i].AllocatedCPU = max(out[i].AllocatedCPU, u.CPUs)
		out[i].AllocatedMemory = max(out[i].AllocatedMemory, uint64(max(u.MemoryMB, 0))<<20)
	}
	return out
}
