package nodeagent

import (
	"context"
	"log/slog"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/nodebuild"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
)

// nodeBuilds is the node's side of template builds: the builder on the
// node's driver, its layer store and build stacks, with the registry
// settings each build's control plane sends, and bases resolved as a
// create's template is.
func nodeBuilds(t nodeTemplates, d *oci.Driver, objects *objstore.Store, log *slog.Logger) *nodebuild.Node {
	return nodebuild.NewNode(nodebuild.NodeConfig{
		Builder: func(r nodebuild.Registries) builder.Builder {
			return builder.New(builder.Config{Layers: t.layers, Driver: d, Stacks: t.stacks, Mirrors: r.Mirrors, AllowNets: r.AllowNets,
				MaxLayerBytes: r.MaxLayerBytes, Logger: log.With("component", "builder")})
		},
		Layers: t.layers, Objects: objects, Resolve: t.ResolveLayers,
		Default: func(ctx context.Context) ([]string, error) { return t.base.Layers(ctx, "base") },
		Cache:   t.base.Dir(),
	})
}

// sweepBuildSandboxes destroys the build sandboxes a previous run of the
// node left (it stopped during a build): their builds ended with the
// control plane's stream.
func sweepBuildSandboxes(ctx context.Context, d *oci.Driver, log *slog.Logger) {
	list, err := d.List(ctx)
	if err != nil {
		log.Warn("list sandboxes for leftover build sandboxes", "err", err)
		return
	}
	for _, i := range list {
		if !runtime.IsBuildSandbox(i.Template) {
			continue
		}
		if err := d.Destroy(ctx, i.ID); err != nil {
			log.Warn("destroy a leftover build sandbox", "sandbox", i.ID, "err", err)
			continue
		}
		log.Info("destroyed a leftover build sandbox", "sandbox", i.ID)
	}
}
