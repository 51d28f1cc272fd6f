package registry

import (
	"context"

	"github.com/soulbox/soulbox/internal/node"
	"github.com/soulbox/soulbox/internal/store"
)

// Nodes implements node.Lister: the embedded node (read live, with the
// status the registry keeps for it) and every joined node as its last
// heartbeat described it, with the reason of a status other than ready.
// A joined node whose sandbox service does not answer this control
// plane is unhealthy, saying so, while placement skips it.
func (r *Registry) Nodes(ctx context.Context) ([]node.Info, error) {
	ns, err := r.st.ListNodes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]node.Info, 0, len(ns))
	for _, n := range ns {
		if n.Embedded {
			if r.embedded == nil || n.ID != r.embedded.ID {
				continue // an embedded node of another replica or an earlier host name
			}
			local, err := r.embedded.Nodes(ctx)
			if err != nil {
				return nil, err
			}
			for _, l := range local {
				// The embedded node's own health wins over "ready".
				if n.Status != store.NodeReady {
					l.Status = node.Status(n.Status)
				}
				out = append(out, l)
			}
			continue
		}
		i := infoOf(n)
		if n.Status != store.NodeReady {
			i.StatusReason = n.StatusReason
		} else if why := r.unreachable(n.ID, n.Report.ServiceAddress); why != "" {
			// Heartbeating, but this control plane cannot create there.
			i.Status, i.StatusReason = node.Status(store.NodeUnhealthy), why
		}
		out = append(out, i)
	}
	return out, nil
}

func infoOf(n store.Node) node.Info {
	rep := n.Report
	i := node.Info{ID: n.ID, ServiceInstanceID: n.ID, Status: node.Status(n.Status), Version: rep.Version,
		SandboxCount: rep.Sandboxes, AllocatedCPU: rep.AllocatedCPU, AllocatedMemoryBytes: rep.AllocatedMemory,
		CPUPercent: rep.CPUPercent, CPUCount: rep.CPUCount, MemoryUsedBytes: rep.MemoryUsedBytes, MemoryTotalBytes: rep.MemoryTotalBytes}
	if rep.DiskTotalBytes > 0 {
		i.Disks = []node.Disk{{MountPoint: "/", UsedBytes: rep.DiskUsedBytes, TotalBytes: rep.DiskTotalBytes}}
	}
	return i
}
