package server

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/soulbox/soulbox/internal/api"
	"github.com/soulbox/soulbox/internal/authz"
	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/objstore"
	"github.com/soulbox/soulbox/internal/runtime/oci"
)

// registryMirrors lists the configured registry mirrors.
func (c Config) registryMirrors() []string {
	var out []string
	for _, m := range strings.Split(c.RegistryMirrors, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// openCatalog opens the template registry with its layer store; the
// builder joins once the driver exists (useBuilder), because the driver
// resolves templates through the catalog.
func (s *Server) openCatalog(ctx context.Context) error {
	if err := s.cfg.moveLegacyLayers(s.log); err != nil {
		return err
	}
	layers, err := layer.New(s.cfg.layersDir())
	if err != nil {
		return err
	}
	// The records of which archive each layer is in object storage are
	// the store's, shared by every replica; those an older server kept
	// in the layer store's directory move there first.
	if err := layers.UseBlobRecords(ctx, catalog.BlobRecords{Store: s.store}); err != nil {
		return err
	}
	if s.objects != nil {
		layers.SetRemote(objstore.Layers{Store: s.objects, TmpDir: layers.Dir(), Log: s.log.With("component", "objects")})
		// Layers not recorded as uploaded (installed before the object
		// storage was set, or whose upload failed) are uploaded now, in
		// the background: until then no joined node is named them.
		if ds, err := layers.List(); err == nil {
			layers.PushMissing(ctx, ds...)
		}
	}
	s.layers, s.stacks = layers, &builder.Stacks{}
	var blobs catalog.BlobDeleter
	if s.objects != nil {
		blobs = s.objects
	}
	s.catalog, err = catalog.New(ctx, catalog.Config{
		Store: s.store, Base: s.templates, Stacks: s.stacks, Layers: layers,
		Dir: filepath.Join(s.cfg.DataDir, "template-files"), Limits: s.cfg.TemplateLimits.catalogLimits(),
		Log: s.log.With("component", "templates"), Refuse: s.refusePools(), RefuseBuilds: s.refuseBuilds(),
		BuildsOnNodes: s.buildsOnNodes(), Blobs: blobs,
	})
	return err
}

// useBuilder gives the catalog a builder on the server's driver.
func (s *Server) useBuilder(d *oci.Driver) {
	allow, _ := s.cfg.TemplateLimits.allowNets() // checked by Validate
	s.catalog.UseBuilder(s.metrics.Builder(builder.New(builder.Config{
		Layers: s.layers, Driver: d, Stacks: s.stacks, Mirrors: s.cfg.registryMirrors(),
		MaxLayerBytes: int64(s.cfg.TemplateLimits.MaxLayerMB) << 20, AllowNets: allow,
		Logger: s.log.With("component", "builder"),
	})))
}

// templateRoutes adds E2B's template build API: its paths need an API
// key, except the upload URLs, which carry their own token.
func (s *Server) templateRoutes(mux *http.ServeMux) {
	tm := http.NewServeMux()
	t := api.NewTemplates(api.TemplatesConfig{Catalog: s.catalog, Team: team, Admin: serverAdmin, Log: s.log, Pools: s.pools})
	t.Register(authz.Guard(s.audit.Wrap(tm), api.TemplateRoutes))
	for _, p := range []string{"/templates", "/templates/", "/v2/templates/", "/v3/templates"} {
		mux.Handle(p, s.authn.Middleware(tm))
	}
	t.RegisterUploads(mux)
}
