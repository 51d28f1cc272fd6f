package registry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"

	"connectrpc.com/connect"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/node"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/store"
)

// Heartbeat implements the node service: the node of the client
// certificate reports its capacity and use. An impossible report is
// refused and the node keeps its last good one.
func (r *Registry) Heartbeat(ctx context.Context, req *connect.Request[nodev1.HeartbeatRequest]) (*connect.Response[nodev1.HeartbeatResponse], error) {
	cert := peerCert(ctx)
	if cert == nil {
		return nil, connectError(fmt.Errorf("a heartbeat needs the node's client certificate: join first: %w", errdefs.ErrUnauthenticated))
	}
	id := cert.Subject.CommonName
	n, err := r.st.GetNode(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil, connectError(fmt.Errorf("node %q is not registered: %w", id, errdefs.ErrUnauthenticated))
	}
	if err != nil {
		return nil, connectError(err)
	}
	if n.Embedded || n.CertFingerprint != nodeca.CertFingerprint(cert.Raw) {
		return nil, connectError(fmt.Errorf("node %q: this certificate is not the one signed at its join: %w", id, errdefs.ErrPermissionDenied))
	}
	if n.KeyFingerprint == "" {
		// Recorded before keys were pinned: the certificate just verified
		// is the one of the join, so its key is the joined key.
		if err := r.st.SetNodeCertificate(ctx, id, n.CertFingerprint, n.PreviousCertFingerprint, n.CertFingerprint, nodeca.SPKIFingerprint(cert)); err != nil {
			return nil, connectError(err)
		}
		r.log.Info("node key recorded", "node", id)
	}
	rep, err := ReportOf(req.Msg.GetCapacity())
	if err != nil {
		r.log.Warn("node heartbeat refused", "node", id, "err", err)
		return nil, connectError(err)
	}
	if rep.LiveAtReport, err = r.liveOn(ctx, id); err != nil {
		return nil, connectError(err)
	}
	wasSilent := n.Status == store.NodeUnhealthy
	n, err = r.st.RecordNodeHeartbeat(ctx, id, rep, req.Msg.GetDraining(), r.now())
	if err != nil {
		return nil, connectError(err)
	}
	if wasSilent {
		// Back from a silence: what its calls' failures said meanwhile is
		// old; the next placement there probes it first.
		r.forgetReach(id)
	}
	return connect.NewResponse(&nodev1.HeartbeatResponse{Status: string(n.Status), HeartbeatIntervalMs: r.HeartbeatInterval().Milliseconds()}), nil
}

// liveOn is how many live sandboxes the store records on node: kept
// with its report, so that a placement knows how many creates went to
// it since (see withStoreCounts).
func (r *Registry) liveOn(ctx context.Context, node string) (int, error) {
	use, err := r.st.NodeUsage(ctx, "")
	if err != nil {
		return 0, err
	}
	for _, u := range use {
		if u.Node == node {
			return u.Sandboxes, nil
		}
	}
	return 0, nil
}

// Bounds of a believable report.
const (
	maxCPUs      = 1 << 14
	maxMemory    = 1 << 50 // 1 PiB
	maxDisk      = 1 << 60 // 1 EiB
	maxSandboxes = 1 << 20
	maxTemplates = node.MaxReportedTemplates
)

// ReportOf checks a heartbeat's capacity and returns it as the store
// keeps it: a report no host could make (no CPUs, negative counts, more
// used than there is, absurd sizes) is ErrInvalidArgument saying which
// figure is wrong.
func ReportOf(c *nodev1.Capacity) (store.NodeReport, error) {
	bad := func(format string, a ...any) (store.NodeReport, error) {
		return store.NodeReport{}, fmt.Errorf("impossible heartbeat: "+format+": %w", append(a, errdefs.ErrInvalidArgument)...)
	}
	switch {
	case c == nil:
		return bad("no capacity")
	case c.GetCpuCount() <= 0 || c.GetCpuCount() > maxCPUs:
		return bad("cpu_count %d: want 1 to %d", c.GetCpuCount(), maxCPUs)
	case math.IsNaN(c.GetCpuPercent()) || c.GetCpuPercent() < 0 || c.GetCpuPercent() > 100:
		return bad("cpu_percent %v: want 0 to 100", c.GetCpuPercent())
	case c.GetMemoryTotalBytes() == 0 || c.GetMemoryTotalBytes() > maxMemory:
		return bad("memory_total_bytes %d: want 1 byte to 1 PiB", c.GetMemoryTotalBytes())
	case c.GetMemoryUsedBytes() > c.GetMemoryTotalBytes():
		return bad("memory_used_bytes %d is more than memory_total_bytes %d", c.GetMemoryUsedBytes(), c.GetMemoryTotalBytes())
	case c.GetDiskTotalBytes() > maxDisk:
		return bad("disk_total_bytes %d: want at most 1 EiB", c.GetDiskTotalBytes())
	case c.GetDiskUsedBytes() > c.GetDiskTotalBytes():
		return bad("disk_used_bytes %d is more than disk_total_bytes %d", c.GetDiskUsedBytes(), c.GetDiskTotalBytes())
	case c.GetSandboxes() < 0 || c.GetSandboxes() > maxSandboxes:
		return bad("sandboxes %d: want 0 to %d", c.GetSandboxes(), maxSandboxes)
	case c.GetMaxSandboxes() < 0 || c.GetMaxSandboxes() > maxSandboxes:
		return bad("max_sandboxes %d: want 0 (no limit of its own) to %d", c.GetMaxSandboxes(), maxSandboxes)
	case c.GetAllocatedCpu() < 0 || c.GetAllocatedCpu() > maxCPUs*64:
		return bad("allocated_cpu %d: want 0 to %d", c.GetAllocatedCpu(), maxCPUs*64)
	case c.GetAllocatedMemoryBytes() > maxMemory*64:
		return bad("allocated_memory_bytes %d is absurd", c.GetAllocatedMemoryBytes())
	case len(c.GetTemplates())+len(c.GetPooledTemplates()) > maxTemplates:
		return bad("%d templates: want at most %d", len(c.GetTemplates())+len(c.GetPooledTemplates()), maxTemplates)
	case len(c.GetPooledReady()) > 0 && len(c.GetPooledReady()) != len(c.GetPooledTemplates()):
		return bad("%d pooled_ready counts for %d pooled_templates: want one each", len(c.GetPooledReady()), len(c.GetPooledTemplates()))
	}
	var ready []int
	for _, k := range c.GetPooledReady() {
		if k < 1 || k > maxSandboxes {
			return bad("pooled_ready %d: want 1 to %d", k, maxSandboxes)
		}
		ready = append(ready, int(k))
	}
	for _, t := range append(append([]string{}, c.GetTemplates()...), c.GetPooledTemplates()...) {
		if err := store.ValidateText("template", t); err != nil || t == "" || len(t) > 255 {
			return bad("template name %q", t)
		}
	}
	if err := store.ValidateText("version", c.GetVersion()); err != nil || len(c.GetVersion()) > 128 {
		return bad("version %q", c.GetVersion())
	}
	if a := c.GetServiceAddress(); a != "" {
		if err := validServiceAddress(a); err != nil {
			return bad("service_address %q: %v", a, err)
		}
	}
	return store.NodeReport{Version: c.GetVersion(), CPUCount: int(c.GetCpuCount()), CPUPercent: c.GetCpuPercent(),
		MemoryTotalBytes: c.GetMemoryTotalBytes(), MemoryUsedBytes: c.GetMemoryUsedBytes(),
		DiskTotalBytes: c.GetDiskTotalBytes(), DiskUsedBytes: c.GetDiskUsedBytes(),
		Sandboxes: int(c.GetSandboxes()), MaxSandboxes: int(c.GetMaxSandboxes()),
		AllocatedCPU: int(c.GetAllocatedCpu()), AllocatedMemory: c.GetAllocatedMemoryBytes(),
		Pooled: c.GetPooledTemplates(), PooledReady: ready, Templates: c.GetTemplates(), ServiceAddress: c.GetServiceAddress(),
		ObjectStorage: c.GetObjectStorage()}, nil
}

// validServiceAddress checks a node's sandbox service address: a host
// (a name or an address other than 0.0.0.0 or ::) and a port.
func validServiceAddress(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil || len(a) > 255 {
		return errors.New("want host:port")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return errors.New("want a port from 1 to 65535")
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return errors.New("want a host the control plane can dial, not an unspecified address")
	}
	return nil
}
