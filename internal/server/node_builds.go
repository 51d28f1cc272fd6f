package server

import (
	"context"
	"fmt"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodebuild"
	"github.com/soulbox/soulbox/internal/scheduler"
)

// buildsOnNodes reports whether template builds run on joined nodes: a
// control plane without an embedded node, with the object storage the
// nodes upload a build's layers to and fetch them from.
func (s *Server) buildsOnNodes() bool { return !s.cfg.embedded() && s.objects != nil }

// refuseBuilds is the catalog's answer to template builds when there is
// nowhere to run them: a control plane without an embedded node and
// without object storage (a build's layers would stay on the node that
// made them). Nil otherwise. Given after the request is authorised,
// audited and checked, as refusePools.
func (s *Server) refuseBuilds() error {
	if s.cfg.embedded() || s.buildsOnNodes() {
		return nil
	}
	return fmt.Errorf("this control plane runs no sandboxes itself (--embedded-node=off) and builds on joined nodes only with object storage (--s3-endpoint), where their layers are kept for every node: %w", errdefs.ErrUnavailable)
}

// useNodeBuilder gives the catalog the builder that places each build
// on a ready joined node with object storage and relays it there, with
// this server's registry settings (--registry-mirrors, the private
// ranges registries may be at, the layer bound), as its own builder
// would take them.
func (s *Server) useNodeBuilder() {
	if !s.buildsOnNodes() {
		return
	}
	allow, _ := s.cfg.TemplateLimits.allowNets() // checked by Validate
	s.catalog.UseBuilder(s.metrics.Builder(nodebuild.New(nodebuild.Config{
		Place: s.placeBuild, Node: s.buildNode, Objects: s.objects, TmpDir: s.layers.Dir(),
		Registries: nodebuild.Registries{Mirrors: s.cfg.registryMirrors(), AllowNets: allow,
			MaxLayerBytes: int64(s.cfg.TemplateLimits.MaxLayerMB) << 20},
		Log: s.log.With("component", "builder"),
	})))
}

// placeBuild chooses the joined node a build runs on.
func (s *Server) placeBuild(ctx context.Context, req scheduler.Request) (string, error) {
	if s.registry == nil || s.nodeDrivers == nil {
		return "", fmt.Errorf("the node registry is not open yet: %w", errdefs.ErrUnavailable)
	}
	d, err := s.registry.Place(ctx, req)
	if err != nil {
		return "", err
	}
	return d.NodeID, nil
}

// buildNode is the build service of joined node.
func (s *Server) buildNode(ctx context.Context, node string) (nodebuild.Runner, error) {
	d, err := s.nodeDrivers.driver(ctx, node)
	if err != nil {
		return nil, err
	}
	r, ok := d.(nodebuild.Runner)
	if !ok {
		return nil, fmt.Errorf("node %s: its driver runs no builds: %w", node, errdefs.ErrUnavailable)
	}
	return r, nil
}
