// Package server assembles `soulbox server`: the store, the template
// registry, the runtime driver and the HTTP listener, started in that
// order, reconciled before the first request, and shut down in reverse.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/audit"
	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/certs"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/mcpserver"
	"github.com/soulbox/soulbox/internal/network"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/noderoute"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/pool"
	"github.com/soulbox/soulbox/internal/ratelimit"
	"github.com/soulbox/soulbox/internal/registry"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/secrets"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/keycache"
	"github.com/soulbox/soulbox/internal/store/notify"
	"github.com/soulbox/soulbox/internal/store/sandboxcache"
	"github.com/soulbox/soulbox/internal/telemetry"
	"github.com/soulbox/soulbox/internal/template"
)

// defaultTemplate is built at start so that the first sandbox does not
// wait minutes for it.
const defaultTemplate = "base"

// Server is a running SoulBox server.
type Server struct {
	cfg       Config
	log       *slog.Logger
	store     store.Store
	templates *template.Store
	catalog   *catalog.Catalog
	layers    *layer.Store
	objects   *objstore.Store // nil without object storage
	stacks    *builder.Stacks
	driver    *oci.Driver
	network   *network.Manager       // nil when off
	mcp       *mcpserver.HTTPHandler // nil unless Config.MCP
	lifecycle *lifecycle.Manager
	pool      *pool.Pool
	pools     *templatePools
	authn     auth.Authenticator
	audit     *audit.Recorder
	secrets   *secrets.Sealer // seals teams' secret values
	metrics   *telemetry.Metrics
	// stopStreams is closed when shutdown starts, to end the event
	// streams the shutdown would otherwise wait for.
	stopStreams chan struct{}
	// stopTracing flushes and stops the span exporter; nil when off.
	stopTracing func(context.Context) error
	listener    net.Listener
	// httpsListener serves sandbox hosts on 443 beside listener when TLS
	// is on; nil otherwise.
	httpsListener net.Listener
	http          *http.Server

	// dashboardL serves the web dashboard when DashboardListen is set.
	dashboardL net.Listener

	mu            sync.Mutex
	templateState map[string]string // name -> building, ready, or the build error

	// leases are the server's hold on a shared store (none for SQLite;
	// a replica's share of serverLeadership, see replicaSetup); Run stops
	// when one is lost.
	leases []store.Lease
	// leader, for a control-plane replica on a shared store, elects the
	// replica that does the background work (see leadBackground).
	leader store.Leader
	// followEvents, for a store several processes share, announces the
	// events they record to this server's event streams until its ctx
	// ends (nil for a store of one process).
	followEvents func(ctx context.Context)
	// nodeCA signs and verifies the nodes' certificates.
	nodeCA *nodeca.CA
	// templateLabels bounds the template names /metrics and /health show.
	templateLabels *telemetry.TemplateLabels
	// registry is the control plane's registry of nodes; nodeL and
	// nodeHTTP its node listener (nil without --node-listen).
	registry *registry.Registry
	nodeL    net.Listener
	nodeHTTP *http.Server

	// router sends each sandbox's driver calls to its node, with
	// nodeDrivers the joined nodes' (nil without a node listener).
	router      *noderoute.Router
	nodeDrivers *nodeDrivers
}

// New opens everything the server needs, reconciles the store with the
// runtime, and binds the listener. Nothing is served until Run.
func New(ctx context.Context, cfg Config, log *slog.Logger) (s *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Records logged inside a span (a request's, a build's) carry its
	// trace_id and span_id.
	log = slog.New(telemetry.LogHandler(log.Handler()))
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("soulbox server must run as root: sandboxes need user namespaces, mounts and cgroups: %w", errdefs.ErrFailedPrecondition)
	}
	// 0711: sandbox roots are unprivileged host uids that must traverse
	// the data dir to reach their root filesystems, but not list it.
	if err := os.MkdirAll(cfg.DataDir, 0o711); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if err := os.Chmod(cfg.DataDir, 0o711); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	s = &Server{cfg: cfg, log: log, templateState: map[string]string{}, stopStreams: make(chan struct{})}
	// TLS first: a wrong certificate or key stops the start before
	// anything is opened or bound.
	tlsConfig, err := certs.New(cfg.TLS, filepath.Join(cfg.DataDir, "tls"), certs.Names{Domain: cfg.Domain, Sandbox: s.sandboxExists}, log)
	if err != nil {
		return nil, err
	}
	partial := s // the returns below set s to nil
	defer func() {
		if err != nil {
			partial.close()
		}
	}()
	if cfg.Metrics {
		s.metrics = telemetry.New()
		if s.stopTracing, err = s.metrics.StartTracing(ctx); err != nil {
			return nil, err
		}
	}
	opened, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	s.leases, s.leader = opened.leases, opened.leader
	// Event streams wait for the store to announce events. Key lookups
	// are answered from memory for up to keycache.DefaultTTL, and sandbox
	// records read by id for up to sandboxcache.DefaultTTL (each change
	// made here forgets them at once). Not on a replica: another
	// replica's changes would not reach its cache, and its leader judges
	// timeouts set through the others.
	var cached store.Store = keycache.Wrap(s.metrics.Store(opened.db), 0)
	if s.leader == nil {
		cached = sandboxcache.Wrap(cached, 0)
	}
	announced := notify.Wrap(cached)
	s.store = announced
	// Events other processes on a shared store record are announced as
	// they commit, not only found by the streams' recheck.
	if w, ok := opened.db.(store.EventWatcher); ok {
		s.followEvents = func(ctx context.Context) { announced.Follow(ctx, w) }
	}
	keys, err := s.openKeys(ctx)
	if err != nil {
		return nil, err
	}
	limits := ratelimit.New(ratelimit.Config{CallsPerKey: cfg.RateCallsPerKey, CallsPerTeam: cfg.RateCallsPerTeam,
		CreatesPerKey: cfg.RateCreatesPerKey, CreatesPerTeam: cfg.RateCreatesPerTeam})
	s.audit = audit.New(s.store, keys.audit, time.Duration(cfg.AuditRetentionDays)*24*time.Hour, log.With("component", "audit"))
	tokens := keys.tokens
	s.secrets, s.nodeCA = keys.secrets, keys.nodeCA
	// Refused credentials are limited per client address before any key
	// is checked, and recorded once per address and window.
	failures := ratelimit.NewFailures(ratelimit.DefaultFailureMax, ratelimit.DefaultFailureWindow, ratelimit.DefaultFailureSize)
	s.audit.CollapseFailures(failures)
	s.authn = auth.Authenticator{Store: s.store, Teams: s.store, Members: s.store, Tokens: tokens, Issued: s.store, Log: log, Gate: failures.Gate, Limit: limits.Check, Failed: s.audit.AuthFailure}
	s.templates, err = template.New(cfg.templatesDir(), template.Options{
		Mirror:   cfg.DebianMirror,
		Logger:   log,
		Progress: progressLog{log},
	})
	if err != nil {
		return nil, err
	}
	if s.objects, err = cfg.Objects.Open(ctx); err != nil {
		return nil, err
	}
	if err := s.openCatalog(ctx); err != nil {
		return nil, err
	}
	driver, err := s.openEmbeddedNode(ctx)
	if err != nil {
		return nil, err
	}
	s.lifecycle = lifecycle.New(lifecycle.Config{
		Store: s.store, Driver: s.routeDriver(driver), Templates: s.catalog, Log: log,
		MaxSandboxes: cfg.MaxSandboxes, PrivateTraffic: !cfg.PublicTraffic,
		NetworkLimits:  cfg.networkLimits(),
		CheckpointDir:  cfg.checkpointDir(),
		PausedDiskMB:   cfg.PausedDiskMB,
		SnapshotDiskMB: cfg.SnapshotDiskMB,
		Objects:        s.objects,
		Retention:      cfg.MetricsRetention, DownsampleAfter: cfg.MetricsDownsampleAfter, DownsampleBucket: cfg.MetricsBucket,
		SandboxStateDiskMB: cfg.SandboxStateDiskMB,
		Replica:            s.leader != nil,
		Steps:              stepLeases(s.leader),
	})
	// The pool always runs: which templates it pools, and how many
	// sandboxes of each, the configuration and the template API decide.
	s.pool = pool.New(pool.Config{
		MemoryBudgetMiB: float64(cfg.poolMemoryMiB()),
		// Half the CPUs: refills must leave room for the requests.
		Concurrency: max(1, goruntime.NumCPU()/2),
	}, s.lifecycle.PoolMaker(), log.With("component", "pool"))
	s.lifecycle.UsePool(s.metrics.Pool(s.pool))
	s.pools = newTemplatePools(cfg, s.pool, s.catalog, log.With("component", "pool"))
	s.catalog.UsePools(s.pools)
	s.pools.start(ctx)
	s.templateLabels = telemetry.NewTemplateLabels(s.pools.Named)
	s.metrics.BoundTemplates(s.templateLabels)
	if err := s.metrics.Register(s.metrics.PoolCollector(s.pool.Stats)); err != nil {
		return nil, err
	}
	if err := s.metrics.Register(telemetry.SandboxCollector(s.store, log), telemetry.DiskCollector(cfg.DataDir)); err != nil {
		return nil, err
	}
	if cfg.MetricsTeamLabels {
		if err := s.metrics.Register(telemetry.TeamCollector(s.store, log)); err != nil {
			return nil, err
		}
	}
	if err := s.openRegistry(ctx); err != nil {
		return nil, err
	}
	if err := s.listen(tlsConfig); err != nil {
		return nil, err
	}
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: MaxHeaderBytes, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	s.http.RegisterOnShutdown(func() { close(s.stopStreams) })
	return s, nil
}

// sandboxExists tells the ACME host policy which sandbox hosts deserve a
// certificate.
func (s *Server) sandboxExists(ctx context.Context, id string) bool {
	if s.lifecycle == nil {
		return false
	}
	_, err := s.lifecycle.Lookup(ctx, id)
	return err == nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Run serves until ctx is done, then shuts down: the listener stops taking
// requests and finishes those in flight, then the store closes. Sandboxes
// keep running; the next start re-adopts them.
//
// A failure to start or to serve ends Run with the reason, after the
// background work (template build, warm pool, monitor) has stopped and
// the pooled sandboxes are destroyed: it cannot wait on a context only
// the caller would cancel.
func (s *Server) Run(ctx context.Context) (err error) {
	defer s.close()
	// bg ends the background work when Run returns, for any reason.
	bg, stopBG := context.WithCancel(ctx)
	poolDone := make(chan struct{})
	defer func() {
		stopBG()
		<-poolDone // pooled sandboxes are destroyed before Run returns
	}()
	go func() {
		defer close(poolDone)
		// The pool fills once the default template exists; a control
		// plane without its own node builds and pools nothing.
		if s.cfg.embedded() && s.ensureTemplate(bg, defaultTemplate) {
			s.pool.Run(bg)
		}
	}()
	followDone := make(chan struct{})
	if s.followEvents != nil {
		go func() {
			defer close(followDone)
			s.followEvents(bg)
		}()
	} else {
		close(followDone)
	}
	defer func() {
		stopBG()
		<-followDone
	}()
	// A replica does the background work only while it leads; any
	// other server from the start.
	leadDone := make(chan struct{})
	bgWait := func() {}
	defer func() {
		stopBG()
		<-leadDone
		bgWait() // before the store closes
		s.lifecycle.Stop()
	}()
	if s.leader != nil {
		go func() {
			defer close(leadDone)
			s.leadBackground(bg)
		}()
	} else {
		close(leadDone)
		if err := s.lifecycle.Start(bg); err != nil {
			return fmt.Errorf("start lifecycle: %w", err)
		}
		w, err := s.runBackground(bg)
		bgWait = w
		if err != nil {
			return err
		}
	}
	nodeErrc := s.serveNodes(bg)
	listeners := s.listeners()
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() { errc <- s.http.Serve(l) }()
	}
	s.log.Info("serving", slog.String("listen", s.Addr()), slog.Bool("tls", s.cfg.TLS.Enabled()),
		slog.String("https_listen", s.HTTPSAddr()), slog.String("runtime", s.runtimeName()),
		slog.String("data_dir", s.cfg.DataDir))
	leaseLost := anyLost(bg.Done(), s.leases) // never ready without a lease
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case err := <-nodeErrc:
		return err
	case <-leaseLost:
		// Another server may lead now: this one must not fire timeouts
		// or reconcile beside it. Stop as on a signal, and say why.
		s.log.Error("lost the store's leadership (its database connection broke); shutting down")
		defer func() { err = errors.Join(err, fmt.Errorf("lost the store's leadership: %w", errdefs.ErrUnavailable)) }()
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	s.shutdownNodes(shutdownCtx)
	if err := s.http.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	s.audit.FlushFailures(shutdownCtx)
	if s.mcp != nil {
		if err := s.mcp.Close(shutdownCtx); err != nil {
			s.log.Warn("mcp: sandbox kills of ended sessions did not finish", logx.Err(err))
		}
	}
	for range listeners {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
	}
	return nil
}

// close releases what New opened, in reverse order; it tolerates a
// partial New.
func (s *Server) close() {
	for _, l := range s.listeners() {
		_ = l.Close()
	}
	if s.nodeL != nil {
		_ = s.nodeL.Close()
	}
	if s.driver != nil {
		_ = s.driver.Close()
	}
	if s.network != nil {
		_ = s.network.Close()
	}
	if s.stopTracing != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.stopTracing(ctx); err != nil {
			s.log.Warn("flush traces", logx.Err(err))
		}
		cancel()
	}
	if s.catalog != nil {
		s.catalog.Close()
	}
	if s.layers != nil {
		// Layers on their way to object storage, for a bounded time: one
		// not sent stays on this host only.
		wctx, cancel := context.WithTimeout(context.Background(), pushGrace)
		if err := s.layers.WaitPushes(wctx); err != nil {
			s.log.Warn("stop without waiting longer for layer uploads", logx.Err(err))
		}
		cancel()
	}
	for _, l := range s.leases {
		if err := l.Release(); err != nil {
			s.log.Warn("release store leadership", logx.Err(err))
		}
	}
	if s.store != nil {
		if err := s.store.Close(); err != nil {
			s.log.Error("close store", logx.Err(err))
		}
	}
}

// ensureTemplate builds a template if it is not cached, recording its state
// for /health.
func (s *Server) ensureTemplate(ctx context.Context, name string) bool {
	s.setTemplateState(name, "building")
	start := time.Now()
	if _, err := s.templates.Ensure(ctx, name); err != nil {
		if ctx.Err() == nil {
			s.log.Error("template build failed", logx.Template(name), logx.Err(err))
		}
		// /health and /ready are not authenticated: the cause (paths,
		// commands' output) is in the log above, the state says only
		// that it failed.
		s.setTemplateState(name, "error")
		return false
	}
	s.log.Info("template ready", logx.Template(name), slog.Duration("took", time.Since(start)))
	s.setTemplateState(name, "ready")
	return true
}

func (s *Server) setTemplateState(name, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.templateState[name] = state
}

// progressLog turns template build output into log lines.
type progressLog struct{ log *slog.Logger }

func (p progressLog) Write(b []byte) (int, error) {
	p.log.Info(string(trimNewline(b)))
	return len(b), nil
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// stepLeases is what the lifecycle holds a joined node's pause or resume
// with on a shared store (lifecycle.Config.Steps): leader's leaderships,
// on one session for all of them where the store can, nil without a
// leader.
func stepLeases(leader store.Leader) store.TryLeader {
	if sl, ok := leader.(store.StepLeader); ok {
		return sl.StepLeases()
	}
	if leader == nil {
		return nil
	}
	return leader
}
