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
//
// A joined node's creates placed since its last report are the store's
// live sandboxes on it now less those it recorded when the report came
// (liveAtReport, kept with the report): the scheduler prefers the node's
// warm pool only while the report's ready sandboxes outnumber them. Both
// counts are the store's, shared by every control-plane replica, so a
// burst through several replicas spends one pool once; a counter of this
// replica's own placements would let each replica send the whole pool's
// worth there. Nor is it the node's own count that is subtracted: the
// store counts paused sandboxes the node no longer runs. A sandbox ended
// since the report makes it short by one (one create more is preferred
// there, and goes cold if the pool is spent), and every create counts,
// whatever its template (a joined node pools only base).
func withStoreCounts(nodes []scheduler.Node, usage []store.NodeUsage, liveAtReport map[string]int, team, embedded string) []scheduler.Node {
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
		out[i].PlacedSinceReport = max(0, u.Sandboxes-liveAtReport[out[i].ID])
		out[i].Sandboxes = max(out[i].Sandboxes, u.Sandboxes)
		out[i].AllocatedCPU = max(out[i].AllocatedCPU, u.CPUs)
		out[i].AllocatedMemory = max(out[i].AllocatedMemory, uint64(max(u.MemoryMB, 0))<<20)
	}
	return out
}
