package server

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/network"
	"github.com/soulbox/soulbox/internal/reconcile"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/telemetry"
)

// embedded reports whether the server runs sandboxes itself (its
// embedded node), as a single host does.
func (c Config) embedded() bool { return c.EmbeddedNode != "off" }

// keysDir is where the keys replicas share are kept.
func (c Config) keysDir() string {
	if c.KeysDir != "" {
		return c.KeysDir
	}
	return c.DataDir
}

// checkpointDir is where the embedded node keeps the checkpoints of
// sandboxes paused with their memory; none without an embedded node.
func (c Config) checkpointDir() string {
	if !c.embedded() {
		return ""
	}
	return filepath.Join(c.DataDir, "checkpoints")
}

// validateEmbeddedNode checks EmbeddedNode and what it needs: a control
// plane without a node of its own runs sandboxes only on joined nodes,
// which join through the node listener.
func (c Config) validateEmbeddedNode() error {
	switch c.EmbeddedNode {
	case "", "on", "off": // empty: on, as a single host
	default:
		return fmt.Errorf("embedded node %q: want on (this server runs sandboxes too) or off (a control plane only): %w",
			c.EmbeddedNode, errdefs.ErrInvalidArgument)
	}
	if !c.embedded() && c.NodeListen == "" {
		return fmt.Errorf("embedded node off: a control plane without its own node needs a node listener (--node-listen) for the nodes that run its sandboxes: %w",
			errdefs.ErrInvalidArgument)
	}
	return nil
}

// openEmbeddedNode opens this server's own node: the sandbox network,
// the OCI driver (which template builds use too), and reconciles the
// store with what the driver runs. It returns the driver lifecycle
// routes the embedded node's calls to. A control plane without an
// embedded node opens none of it: nothing of a runtime is touched on
// its host, and its stand-in holds no sandbox.
func (s *Server) openEmbeddedNode(ctx context.Context) (telemetry.Driver, error) {
	if !s.cfg.embedded() {
		s.log.Info("no embedded node: sandboxes run on joined nodes only")
		s.useNodeBuilder()
		return noEmbeddedNode{}, nil
	}
	cfg := s.cfg
	if cfg.Network == "on" {
		nc := cfg.networkConfig()
		nc.Log = s.log.With("component", "network")
		var err error
		if s.network, err = network.New(ctx, nc); err != nil {
			return nil, err
		}
	}
	var err error
	s.driver, err = oci.New(oci.Config{
		Root:      filepath.Join(cfg.DataDir, "runtime"),
		AgentPath: cfg.AgentPath,
		Runtime:   cfg.Runtime,
		Compat32:  cfg.Compat32,
		Templates: s.catalog,
		Logger:    s.log,
		Network:   s.network,
	})
	if err != nil {
		return nil, err
	}
	s.useBuilder(s.driver)
	driver := s.metrics.Driver(s.driver)
	// The embedded node's sandboxes only: joined nodes' are theirs.
	rep, err := reconcile.Run(ctx, s.store, driver, s.log, filepath.Join(cfg.DataDir, "checkpoints"))
	if err != nil {
		return nil, err
	}
	s.log.Info("reconciled", slog.Int("adopted", len(rep.Adopted)), slog.Int("lost", len(rep.Lost)),
		slog.Int("orphans", len(rep.Orphans)), slog.Int("failed", len(rep.Failed)), slog.Duration("took", rep.Duration))
	return driver, nil
}

// runtimeName names the embedded node's runtime, "none" without one.
func (s *Server) runtimeName() string {
	if s.driver == nil {
		return noEmbeddedNode{}.Name()
	}
	return s.driver.Name()
}

// refusePools is the catalog's answer to pool changes on a control
// plane without an embedded node (warm pools fill on the server's own
// runtime): unavailable, saying why; nil with an embedded node. The
// catalog gives it after the request is authorised, audited and
// checked, so a key without the permission is still 403 and a malformed
// request 400.
func (s *Server) refusePools() error {
	if s.cfg.embedded() {
		return nil
	}
	return fmt.Errorf("they run on the server's own node: %w", errNoEmbeddedNode)
}
