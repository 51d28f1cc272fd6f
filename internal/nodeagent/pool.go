package nodeagent

import (
	"context"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"strings"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodepool"
	"github.com/soulbox/soulbox/internal/pool"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"golang.org/x/sys/unix"
)

// PoolConfig is the node's warm pool of the base template, bounded as
// the server's (--pool-min, --pool-max, --pool-memory, --pool-prewarm).
type PoolConfig struct {
	// Min and Max bound the pool; Max 0 pools nothing.
	Min, Max int
	// MemoryMiB bounds the memory pooled sandboxes hold; 0: an eighth
	// of the host's.
	MemoryMiB int
	// Prewarm lists the interpreter languages pooled sandboxes start
	// ahead, comma-separated, or none.
	Prewarm string
}

// pooledTemplate is the template a node pools: the one it builds
// itself. Another template's layers come with each create from the
// control plane, and its settings (environment, start command) live
// there.
const pooledTemplate = "base"

func (c PoolConfig) validate() error {
	if c.MemoryMiB < 0 {
		return fmt.Errorf("--pool-memory %d: use 0 (an eighth of the host's memory) or more: %w", c.MemoryMiB, errdefs.ErrInvalidArgument)
	}
	if c.Max == 0 {
		return nil // no pool, whatever --pool-min says
	}
	if err := (pool.Bounds{Min: c.Min, Max: c.Max, Prewarm: c.prewarm()}).Validate(); err != nil {
		return fmt.Errorf("--pool-*: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	return nil
}

func (c PoolConfig) prewarm() []string {
	var out []string
	for _, lang := range strings.Split(c.Prewarm, ",") {
		if lang = strings.TrimSpace(lang); lang != "" && lang != "none" {
			out = append(out, lang)
		}
	}
	return out
}

// newPool is the node's warm pool over d, nil when it pools nothing.
func newPool(c PoolConfig, d *oci.Driver, dir string, log *slog.Logger) *nodepool.Pool {
	if c.Max == 0 {
		return nil
	}
	mem := float64(c.MemoryMiB)
	if mem == 0 {
		mem = float64(hostMemoryMiB() / 8)
	}
	return nodepool.New(pool.Config{
		Templates: []string{pooledTemplate}, Min: c.Min, Max: c.Max, Prewarm: c.prewarm(),
		MemoryBudgetMiB: mem,
		// Half the CPUs: refills must leave room for the sandboxes in use.
		Concurrency: max(1, goruntime.NumCPU()/2),
	}, d, dir, log)
}

// hostMemoryMiB is the host's memory, 8 GiB when unknown.
func hostMemoryMiB() int {
	var info unix.Sysinfo_t
	if err := unix.Sysinfo(&info); err != nil {
		return 8 << 10
	}
	return int(uint64(info.Totalram) * uint64(info.Unit) >> 20)
}

// followStatus empties the pool while the control plane has the node
// draining, and fills it again once it is ready: a drained node takes no
// creates, and its pool would only hold memory.
func followStatus(ctx context.Context, p *nodepool.Pool, status string) {
	switch {
	case p == nil:
	case status == "draining":
		p.Drain(ctx)
	case status == "ready":
		p.Refill()
	}
}
