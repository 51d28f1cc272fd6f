package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/soulbox/soulbox/internal/api"
	"github.com/soulbox/soulbox/internal/authz"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/node"
	"github.com/soulbox/soulbox/internal/registry"
	"github.com/soulbox/soulbox/internal/scheduler"
)

// openRegistry opens the registry of nodes with this server's embedded
// node in it (none with EmbeddedNode off), under the node CA openKeys
// opened, the placement of creates, and the node listener when
// NodeListen is set.
func (s *Server) openRegistry(ctx context.Context) error {
	ca := s.nodeCA
	var local *node.Local
	if s.cfg.embedded() {
		local = s.localNode()
	}
	var err error
	ca.SetLifetime(s.cfg.NodeCertLifetime)
	s.registry, err = registry.New(ctx, registry.Config{Store: s.store, CA: ca, HeartbeatTimeout: s.cfg.NodeHeartbeatTimeout,
		Embedded: local, Log: s.log.With("component", "nodes"), Joined: s.recordJoin})
	if err != nil {
		return fmt.Errorf("node registry: %w", err)
	}
	s.lifecycle.UsePlacer(s.place)
	s.lifecycle.UseNodeCheck(s.registry.CanTake)
	if s.nodeDrivers != nil {
		cert := ca.ControlPlaneCertificates()
		if _, err := cert(nil); err != nil {
			return err
		}
		s.nodeDrivers.use(s.registry, cert, ca.Pool())
		s.registry.UseProber(s.nodeDrivers.probe)
	}
	if s.cfg.NodeListen == "" {
		return nil
	}
	extra, err := s.cfg.nodeListenNames()
	if err != nil {
		return err
	}
	tc, err := ca.ServerTLS(append(nodeListenerNames(s.cfg.NodeListen), extra...))
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", s.cfg.NodeListen)
	if err != nil {
		return fmt.Errorf("listen on %s for nodes (--node-listen): %w", s.cfg.NodeListen, err)
	}
	s.nodeL = tls.NewListener(l, tc)
	mux := http.NewServeMux()
	path, h := s.registry.Handler()
	mux.Handle(path, s.gateNodes(h))
	s.nodeHTTP = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	return nil
}

// nodeListenerNames are the names the node listener's certificate is
// for: the listen host (an unspecified one means every address of
// this host: its name), this host's name and loopback.
func nodeListenerNames(listen string) []string {
	host, _, _ := net.SplitHostPort(listen)
	names := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" {
		names = append(names, h)
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		names = append(names, host)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					names = append(names, n.IP.String())
				}
			}
		}
	}
	return names
}

// place is the create path's placement: the scheduler's decision over
// the registry's nodes; "" for the embedded node, else the joined node
// whose sandbox service the create goes to.
func (s *Server) place(ctx context.Context, req lifecycle.CreateRequest) (string, error) {
	d, err := s.registry.Place(ctx, scheduler.Request{Template: req.Template, CPU: req.CPUCount, MemoryBytes: uint64(max(req.MemoryMB, 0)) << 20,
		Team: req.Team, EmbeddedOnly: req.EmbeddedOnly,
		EmbeddedOnlyWhy: req.EmbeddedOnlyWhy, Layers: req.LayerDigests(), Exclude: req.ExcludeNodes, MoveFrom: req.MoveFrom,
		FromObjects: req.FromObjects})
	if err != nil {
		return "", err
	}
	if d.NodeID == s.registry.EmbeddedID() {
		return "", nil
	}
	if s.router == nil {
		// Cannot happen: nodes join only through a node listener.
		return "", fmt.Errorf("node %q was chosen, but this server has no node listener: %w", d.NodeID, errdefs.ErrUnavailable)
	}
	return d.NodeID, nil
}

// serveNodes runs the node listener until ctx ends; the listener's
// error, if it fails, is sent to errc.
func (s *Server) serveNodes(ctx context.Context) <-chan error {
	errc := make(chan error, 1)
	// Each replica watches the nodes' sandbox services itself: it is its
	// own dials that fail.
	if s.nodeDrivers != nil {
		go s.registry.WatchServices(ctx)
	}
	if s.nodeHTTP == nil {
		return errc
	}
	go func() {
		if err := s.nodeHTTP.Serve(s.nodeL); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("node listener: %w", err)
		}
	}()
	s.log.Info("serving nodes", slog.String("node_listen", s.NodeAddr()), slog.String("node_ca", s.registry.CAFingerprint()))
	return errc
}

// shutdownNodes stops the node listener.
func (s *Server) shutdownNodes(ctx context.Context) {
	if s.nodeHTTP != nil {
		if err := s.nodeHTTP.Shutdown(ctx); err != nil {
			s.log.Warn("node listener shutdown", slog.Any("err", err))
		}
	}
}

// NodeAddr is the node listener's address, "" without one.
func (s *Server) NodeAddr() string {
	if s.nodeL == nil {
		return ""
	}
	return s.nodeL.Addr().String()
}

// nodeTokenRoutes adds the admin routes of node join tokens to mux.
func (s *Server) nodeTokenRoutes(mux *http.ServeMux) {
	api.NewNodeTokens(s.registry, s.log).Register(authz.Guard(s.audit.Wrap(mux), api.NodeTokenRoutes))
}
