package nodeagent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/sys/unix"

	nodev1 "github.com/soulbox/soulbox/api/node/v1"
	"github.com/soulbox/soulbox/api/node/v1/nodev1connect"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/node"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/version"
)

// Config is what `soulbox node` runs with.
type Config struct {
	// ControlPlane is the https URL of the control plane's node listener,
	// or several, comma-separated, one per control-plane replica: joins
	// and heartbeats go to the next when one does not answer. Needed to
	// join; a joined node keeps the ones it joined with unless given
	// others.
	ControlPlane string
	// JoinToken is needed on the first start only.
	JoinToken string
	DataDir   string
	// Name is the node's name, the one its certificate names.
	Name string
	// MaxSandboxes is the node's own bound on sandboxes (0: none).
	MaxSandboxes int
	Log          *slog.Logger
	// Runtime is how the node runs sandboxes; its Listen empty, it runs
	// none.
	Runtime RuntimeConfig
	// Objects is the object storage the node fetches the template
	// layers it lacks from (the control plane's bucket); Endpoint
	// empty: none, and only the base template starts here.
	Objects objstore.Settings
}

// Run joins if the data dir holds no identity yet, then heartbeats
// until ctx ends; then it reports itself draining and returns nil.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.DataDir == "" {
		return fmt.Errorf("--data-dir is required: %w", errdefs.ErrInvalidArgument)
	}
	if cfg.MaxSandboxes < 0 {
		return fmt.Errorf("--max-sandboxes %d: want 0 (no bound of its own) or more: %w", cfg.MaxSandboxes, errdefs.ErrInvalidArgument)
	}
	if cfg.Runtime.Network == "" {
		cfg.Runtime.Network = "on"
	}
	if err := cfg.Runtime.validate(); err != nil {
		return err
	}
	if err := cfg.Objects.Validate(); err != nil {
		return err
	}
	if cfg.Objects.Endpoint != "" && cfg.Runtime.Listen == "" {
		return fmt.Errorf("--s3-endpoint without --listen: a node fetches template layers only for the sandboxes it runs: %w", errdefs.ErrInvalidArgument)
	}
	if !joined(cfg.DataDir) {
		if cfg.JoinToken == "" || cfg.ControlPlane == "" {
			return fmt.Errorf("this node has not joined: --control-plane and a join token (--join-token-file, SOULBOX_JOIN_TOKEN or --join-token) are needed: %w", errdefs.ErrInvalidArgument)
		}
		if cfg.Name == "" {
			host, err := os.Hostname()
			if err != nil {
				return fmt.Errorf("no --name, and this host has no name: %w", err)
			}
			cfg.Name = strings.ToLower(host)
		}
		if err := join(ctx, cfg); err != nil {
			return err
		}
		cfg.Log.Info("joined the control plane", "control_plane", cfg.ControlPlane, "node", cfg.Name)
	}
	id, err := loadIdentity(cfg.DataDir)
	if err != nil {
		return err
	}
	if cfg.Name != "" && cfg.Name != id.Name {
		return fmt.Errorf("this data dir holds node %q, not %q: %w", id.Name, cfg.Name, errdefs.ErrInvalidArgument)
	}
	log := cfg.Log.With("node", id.Name)
	urls, err := controlPlanes(cfg.DataDir, id, cfg.ControlPlane, log)
	if err != nil {
		return err
	}
	var closers []func()
	cp := newReplicas(urls, log, func(u string) nodev1connect.NodeServiceClient {
		c, closeIdle := mtlsClient(id, u)
		closers = append(closers, closeIdle)
		return c
	})
	closeIdle := func() {
		for _, f := range closers {
			f()
		}
	}
	h := &heartbeater{c: cp, closeIdle: closeIdle, host: &node.HostReader{DataDir: cfg.DataDir}, dataDir: cfg.DataDir, max: cfg.MaxSandboxes, log: log, id: id}
	if cfg.Runtime.Listen == "" {
		return h.run(ctx)
	}
	sh, err := openSandboxHost(ctx, cfg.DataDir, cfg.Runtime, cfg.Objects, cfg.MaxSandboxes, id, log)
	if err != nil {
		return err
	}
	h.sandboxes = sh
	served := make(chan error, 1)
	go func() { served <- sh.serve() }()
	log.Info("serving sandboxes", "listen", cfg.Runtime.Listen, "driver", sh.driver.Name())
	hctx, stop := context.WithCancel(ctx)
	beat := make(chan error, 1)
	go func() { beat <- h.run(hctx) }()
	select {
	case err = <-beat:
	case err = <-served:
		err = fmt.Errorf("sandbox service: %w", err)
		stop()
		<-beat
	}
	stop()
	sh.close()
	return err
}

type heartbeater struct {
	c       nodev1connect.NodeServiceClient
	host    *node.HostReader
	dataDir string
	max     int
	log     *slog.Logger
	id      *identity
	// sandboxes, when the node runs them, is counted in each heartbeat.
	sandboxes *sandboxHost

	// closeIdle ends c's idle connections (after a renewal).
	closeIdle func()
}

func (h *heartbeater) run(ctx context.Context) error {
	interval := time.Second
	failing, renewFailing := false, false
	for {
		// A renewal that fails is tried again at the next heartbeat.
		renewErr := h.renewIfDue(ctx)
		if renewErr != nil && ctx.Err() == nil {
			if !renewFailing {
				h.log.Warn("certificate renewal failed", "err", renewErr)
			}
			renewFailing = true
		} else if renewErr == nil {
			renewFailing = false
		}
		if err := h.id.usable(time.Now()); err != nil {
			return err
		}
		res, err := h.beat(ctx, false)
		switch {
		case err != nil && ctx.Err() == nil:
			if !failing {
				h.log.Warn("heartbeat failed", "err", err)
			}
			failing = true
			// A renewal whose answer was lost leaves the control plane
			// refusing the certificate this node still holds: the retry
			// of the renewal at the next heartbeat mends it, unless the
			// control plane refused the renewal too.
			if refused(err) && (!renewPending(h.dataDir) || (renewErr != nil && refused(renewErr))) {
				return fmt.Errorf("the control plane refuses this node (%w): if it was deleted (DELETE /nodes/%s) or its certificate expired, "+
					"remove %s and join again with a new token", err, h.id.Name, identityDir(h.dataDir))
			}
		case err == nil:
			if failing || res.GetStatus() != "ready" {
				h.log.Info("heartbeat", "status", res.GetStatus())
			}
			failing = false
			if h.sandboxes != nil {
				followStatus(ctx, h.sandboxes.pool, res.GetStatus())
			}
			if ms := res.GetHeartbeatIntervalMs(); ms > 0 {
				interval = time.Duration(ms) * time.Millisecond
			}
		}
		select {
		case <-ctx.Done():
			// The last word: this node is going away and takes nothing new.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_, err := h.beat(dctx, true)
			cancel()
			if err != nil {
				h.log.Warn("draining heartbeat failed", "err", err)
			} else {
				h.log.Info("reported draining")
			}
			return nil
		case <-time.After(interval):
		}
	}
}

func (h *heartbeater) beat(ctx context.Context, draining bool) (*nodev1.HeartbeatResponse, error) {
	hr, err := h.host.Read()
	if err != nil {
		return nil, fmt.Errorf("read the host: %w", err)
	}
	c := &nodev1.Capacity{CpuCount: int64(hr.CPUCount), CpuPercent: hr.CPUPercent, MemoryTotalBytes: hr.MemoryTotalBytes,
		MemoryUsedBytes: hr.MemoryUsedBytes, DiskTotalBytes: hr.Disk.TotalBytes, DiskUsedBytes: hr.Disk.UsedBytes,
		MaxSandboxes: int64(h.max), Version: version.Version}
	var use *layerUse
	if h.sandboxes != nil {
		use = h.sandboxes.layerUse
	}
	c.Templates = layersPresent(h.dataDir, use)
	if h.sandboxes != nil {
		n, cpus, mem := h.sandboxes.usage(ctx)
		c.Sandboxes, c.AllocatedCpu, c.AllocatedMemoryBytes, c.ServiceAddress = int64(n), int64(cpus), mem, h.sandboxes.advertise
		c.ObjectStorage = h.sandboxes.objects != nil
		if h.sandboxes.pool != nil {
			c.PooledTemplates, c.PooledReady = h.sandboxes.pool.Ready()
		}
	}
	res, err := h.c.Heartbeat(ctx, connect.NewRequest(&nodev1.HeartbeatRequest{Capacity: c, Draining: draining}))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// layersPresent lists the template layers in the node's data dir: its
// directories, not the layer store's own hidden entries (.aliases, a
// layer being written as .new-*). A node holding more than
// node.MaxReportedTemplates reports that many: those its creates used
// last (use), then those installed last.
func layersPresent(dataDir string, use *layerUse) []string {
	dir := filepath.Join(dataDir, "layers")
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range es {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	if len(out) <= node.MaxReportedTemplates {
		return out
	}
	// Most recent first: the layers used since start by their last use,
	// then the others by their install (the rename into place is the
	// directory's last change).
	type recency struct {
		used bool
		at   time.Time
	}
	when := make(map[string]recency, len(out))
	for _, d := range out {
		if t, ok := use.lastUsed(d); ok {
			when[d] = recency{true, t}
			continue
		}
		var st unix.Stat_t
		if unix.Lstat(filepath.Join(dir, d), &st) == nil {
			when[d] = recency{at: time.Unix(st.Ctim.Unix())}
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		ra, rb := when[a], when[b]
		if ra.used != rb.used {
			if ra.used {
				return -1
			}
			return 1
		}
		return rb.at.Compare(ra.at)
	})
	return out[:node.MaxReportedTemplates]
}
