package nodeagent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/network"
	"github.com/soulbox/soulbox/internal/nodeca"
	"github.com/soulbox/soulbox/internal/nodepool"
	"github.com/soulbox/soulbox/internal/nodeservice"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/template"
)

// RuntimeConfig is how a node runs sandboxes: its driver's parts, apart
// from every other node's on the same host.
type RuntimeConfig struct {
	// Listen is the address of the node's sandbox service (mutual TLS,
	// the control plane its only client); empty: the node runs no
	// sandboxes and only heartbeats.
	Listen string
	// Advertise is the host:port the control plane dials for it; empty:
	// Listen, which must then name a host.
	Advertise string
	// AgentPath is the soulbox-agent binary; default next to this one.
	AgentPath string
	// TemplatesDir is the template cache; default <data-dir>/templates.
	// The base template is built there on first use, as the server does.
	TemplatesDir string
	// Runtime forces one OCI runtime; empty chooses.
	Runtime string
	// Compat32 lets sandboxes make 32-bit system calls (oci.Config).
	Compat32 bool
	// CgroupParent is the cgroup the node's sandboxes go under; empty:
	// derived from the data dir.
	CgroupParent string
	// Network is "on" (each sandbox its own link, NAT, DNS and egress
	// policy) or "off" (loopback only).
	Network string
	// NetworkPool is the IPv4 range of the node's sandbox links; empty:
	// the first free of 10.200-254.0.0/16. Nodes on one host need
	// ranges of their own.
	NetworkPool   string
	NetworkUplink string
	NetworkDNS    string
	// Pool is the node's warm pool of the base template.
	Pool PoolConfig
}

func (c RuntimeConfig) validate() error {
	if c.Listen == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("--listen %q: want host:port: %w", c.Listen, errdefs.ErrInvalidArgument)
	}
	if host, _, _ := net.SplitHostPort(c.Listen); c.Advertise == "" && (host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified()) {
		return fmt.Errorf("--listen %q names no host the control plane can dial: give --advertise host:port: %w", c.Listen, errdefs.ErrInvalidArgument)
	}
	if c.Advertise != "" {
		if host, port, err := net.SplitHostPort(c.Advertise); err != nil || host == "" || port == "" || port == "0" {
			return fmt.Errorf("--advertise %q: want host:port: %w", c.Advertise, errdefs.ErrInvalidArgument)
		}
	}
	if c.Network != "on" && c.Network != "off" {
		return fmt.Errorf("--network %q: want on or off: %w", c.Network, errdefs.ErrInvalidArgument)
	}
	if c.NetworkPool != "" {
		p, err := netip.ParsePrefix(c.NetworkPool)
		if err != nil {
			return fmt.Errorf("--network-pool %q: want an IPv4 CIDR such as 10.210.0.0/16: %w", c.NetworkPool, errdefs.ErrInvalidArgument)
		}
		if err := (network.Config{Pool: p}).Validate(); err != nil {
			return fmt.Errorf("--network-pool: %w", err)
		}
	}
	if err := c.Pool.validate(); err != nil {
		return err
	}
	if c.CgroupParent != "" {
		if err := oci.ValidCgroupParent(c.CgroupParent); err != nil {
			return fmt.Errorf("--cgroup-parent: %w", err)
		}
	}
	return nil
}

// sandboxHost is a node's driver and the service serving it.
type sandboxHost struct {
	// advertise is the address the control plane dials.
	advertise string
	driver    *oci.Driver
	net       *network.Manager
	// objects is where template layers this node lacks are fetched
	// from; nil: none.
	objects *objstore.Store
	// layerUse is when creates last used each layer, for heartbeats.
	layerUse *layerUse
	// pool is the node's warm pool, nil when it pools nothing; stopPool
	// ends it, and poolDone is closed once its sandboxes are destroyed.
	pool     *nodepool.Pool
	stopPool context.CancelFunc
	poolDone chan struct{}
	srv      *http.Server
	ln       net.Listener
}

// runtimeRoot is the sandbox driver's root in a node's data directory.
func runtimeRoot(dataDir string) (string, error) {
	return filepath.Abs(filepath.Join(dataDir, "runtime"))
}

// NetworkTag is the tag of the network a node of data directory dataDir
// puts on the host: what network.Uninstall removes once a node killed
// without its shutdown will not start again.
func NetworkTag(dataDir string) (string, error) {
	root, err := runtimeRoot(dataDir)
	if err != nil {
		return "", err
	}
	return network.TagFor(root), nil
}

// openSandboxHost opens the node's driver and listens for its service;
// serve starts serving.
func openSandboxHost(ctx context.Context, dataDir string, rc RuntimeConfig, objects objstore.Settings, max int, id *identity, log *slog.Logger) (_ *sandboxHost, err error) {
	if id.serving == nil {
		return nil, fmt.Errorf("node %q joined without a serving certificate (a control plane older than its sandbox service): join again with a new token and data dir: %w", id.Name, errdefs.ErrFailedPrecondition)
	}
	h := &sandboxHost{advertise: rc.Advertise, layerUse: &layerUse{}}
	if h.advertise == "" {
		h.advertise = rc.Listen
	}
	defer func() {
		if err != nil {
			h.close()
		}
	}()
	tdir := rc.TemplatesDir
	if tdir == "" {
		tdir = filepath.Join(dataDir, "templates")
	}
	templates, err := template.New(tdir, template.Options{Logger: log.With("component", "template")})
	if err != nil {
		return nil, err
	}
	// The layers of other templates, in the directory heartbeats report
	// (layersPresent).
	layers, err := layer.New(filepath.Join(dataDir, "layers"))
	if err != nil {
		return nil, err
	}
	if err := layers.Sweep(); err != nil {
		return nil, err
	}
	if h.objects, err = objects.Open(ctx); err != nil {
		return nil, fmt.Errorf("object storage (--s3-*): %w", err)
	}
	if h.objects != nil {
		layers.SetRemote(objstore.Layers{Store: h.objects, TmpDir: layers.Dir(), Log: log.With("component", "objects")})
	}
	root, err := runtimeRoot(dataDir)
	if err != nil {
		return nil, err
	}
	if rc.Network == "on" {
		pool, _ := netip.ParsePrefix(rc.NetworkPool)
		h.net, err = network.New(ctx, network.Config{Pool: pool, Uplink: rc.NetworkUplink, Upstream: rc.NetworkDNS,
			Tag: network.TagFor(root), Log: log.With("component", "network")})
		if err != nil {
			return nil, err
		}
	}
	resolver := nodeTemplates{base: templates, layers: layers, use: h.layerUse, stacks: &builder.Stacks{}}
	h.driver, err = oci.New(oci.Config{Root: root, AgentPath: rc.AgentPath, Runtime: rc.Runtime, Templates: resolver,
		Compat32: rc.Compat32, Logger: log, Network: h.net, CgroupParent: rc.CgroupParent})
	if err != nil {
		return nil, err
	}
	sweepBuildSandboxes(ctx, h.driver, log)
	// What an earlier run's pool held is no one's: gone before the
	// service opens, whether or not this run pools.
	poolDir := filepath.Join(dataDir, "pool")
	if err := nodepool.Sweep(ctx, h.driver, poolDir, log); err != nil {
		return nil, fmt.Errorf("pooled sandboxes of an earlier run: %w", err)
	}
	// The base template, built now rather than by the first create; the
	// warm pool fills once it is ready, and runs until close.
	h.pool = newPool(rc.Pool, h.driver, poolDir, log.With("component", "pool"))
	pctx, stopPool := context.WithCancel(ctx)
	h.stopPool, h.poolDone = stopPool, make(chan struct{})
	go func() {
		defer close(h.poolDone)
		start := time.Now()
		if _, err := templates.Ensure(pctx, "base"); err != nil {
			if pctx.Err() == nil {
				log.Error("template build failed", "template", "base", "err", err)
			}
			return
		}
		log.Info("template ready", "template", "base", "took", time.Since(start))
		if h.pool != nil {
			h.pool.Run(pctx)
		}
	}()
	h.ln, err = net.Listen("tcp", rc.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %s: %w", rc.Listen, err)
	}
	tc := &tls.Config{
		// The certificate is read at each handshake: a renewal replaces it.
		MinVersion: tls.VersionTLS13, GetCertificate: id.servingCertificate,
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: id.ca, NextProtos: []string{"h2"},
		// Nodes' certificates come from the same CA: only the control
		// plane's may drive this node's sandboxes.
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !nodeca.IsControlPlane(cs.PeerCertificates[0]) {
				return errors.New("only the control plane may call a node's sandbox service")
			}
			return nil
		},
	}
	// The node keeps its paused sandboxes' checkpoints in its own data
	// dir; those of sandboxes gone while it was down are swept now.
	checkpoints, err := filepath.Abs(filepath.Join(dataDir, "checkpoints"))
	if err != nil {
		return nil, err
	}
	svc := nodeservice.New(h.driver).WithMaxSandboxes(id.Name, max).WithCheckpoints(checkpoints)
	if h.pool != nil {
		svc.WithPool(h.pool)
	}
	if h.objects != nil {
		// Template builds, for a control plane without a node of its
		// own: their layers go to the object storage every node shares.
		svc.WithBuilder(nodeBuilds(resolver, h.driver, h.objects, log))
		// Paused sandboxes' packs go to object storage, for a resume
		// on another node.
		svc.WithObjects(h.objects, checkpoints+"-transfers")
	}
	if err := svc.SweepCheckpoints(ctx); err != nil {
		log.Warn("sweep unowned checkpoints", "err", err)
	}
	path, handler := svc.Handler()
	mux := http.NewServeMux()
	mux.Handle(path, handler)
	h.srv = &http.Server{Handler: mux, TLSConfig: tc, ReadHeaderTimeout: 10 * time.Second, HTTP2: nodeservice.HTTP2(),
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	h.ln = tls.NewListener(h.ln, tc)
	return h, nil
}

// serve serves until close.
func (h *sandboxHost) serve() error {
	if err := h.srv.Serve(h.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// usage counts the sandboxes the driver has and sums what they were
// given.
func (h *sandboxHost) usage(ctx context.Context) (n, cpus int, memory uint64) {
	if h == nil || h.driver == nil {
		return 0, 0, 0
	}
	l, err := h.driver.List(ctx)
	if err != nil {
		return 0, 0, 0
	}
	for _, i := range l {
		if h.pool != nil && h.pool.Holds(i.ID) {
			continue // no one's: neither counted nor placed against
		}
		n++
		lim := i.Limits.WithDefaults()
		cpus += lim.CPUCount
		memory += uint64(max(lim.MemoryMB, 0)) << 20
	}
	return n, cpus, memory
}

// close stops serving (calls under way get a few seconds), destroys
// the warm pool's sandboxes and closes the network manager; the
// sandboxes of creates keep running for the next start.
func (h *sandboxHost) close() {
	if h.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = h.srv.Shutdown(ctx)
		cancel()
	} else if h.ln != nil {
		h.ln.Close()
	}
	if h.stopPool != nil {
		h.stopPool()
		<-h.poolDone
	}
	if h.net != nil {
		_ = h.net.Close()
	}
}
