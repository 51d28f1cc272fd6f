package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/template"
)

// measureBaseline times the bare OCI runtime running /bin/true in the
// template's root filesystem, with the runtime the server uses when this
// host has it. It needs root and the template built on this machine, so
// it only runs on the server's host; elsewhere it is skipped.
func measureBaseline(ctx context.Context, r *runner) error {
	if os.Geteuid() != 0 {
		return skipped{"needs root (the OCI runtime creates namespaces and cgroups)"}
	}
	rt := serverRuntime(r.rep.Machine.ServerRuntime)
	if _, err := oci.DetectHostRuntime(rt); err != nil {
		return skipped{fmt.Sprintf("no OCI runtime to run here: %v", err)}
	}
	rootfs, err := templateRootfs(ctx, r.cfg.TemplatesDir, r.cfg.Template)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "soulbox-baseline-")
	if err != nil {
		return fmt.Errorf("runtime baseline: %w", err)
	}
	defer os.RemoveAll(dir)
	b, err := oci.NewBaseline(rootfs, rt, dir)
	if err != nil {
		return err
	}
	r.rep.Machine.Runtime = b.Runtime()
	p, err := r.sample(ctx, RuntimeBaseline, func(ctx context.Context) (time.Duration, error) {
		return b.Run(ctx)
	})
	if err != nil {
		return err
	}
	r.rep.RuntimeBaselineMs = p
	return nil
}

// templateRootfs finds the root filesystem of a built template in the
// cache at dir. It never builds: a bench must not start a build of
// minutes, so a template not built here skips the baseline.
func templateRootfs(ctx context.Context, dir, name string) (string, error) {
	if dir == "" {
		return "", skipped{"no template cache directory given"}
	}
	store, err := template.New(dir, template.Options{})
	if err != nil {
		return "", skipped{err.Error()}
	}
	canonical, err := store.Resolve(name)
	if err != nil {
		return "", skipped{fmt.Sprintf("template %q is not a template this host knows: %v", name, err)}
	}
	list, err := store.List(ctx)
	if err != nil {
		return "", fmt.Errorf("list templates in %s: %w", dir, err)
	}
	i := slices.IndexFunc(list, func(t template.Template) bool { return t.Name == canonical })
	if i < 0 || !list[i].Built {
		return "", skipped{fmt.Sprintf("template %s is not built in %s on this machine", canonical, dir)}
	}
	if n := len(list[i].Layers); n != 1 {
		return "", skipped{fmt.Sprintf("template %s has %d layers; the baseline runs single-layer root filesystems", canonical, n)}
	}
	return list[i].Layers[0], nil
}

// serverRuntime is the runtime the server names in its health answer
// ("oci/runc"), when the baseline can run it; empty lets the host choose.
func serverRuntime(s string) string {
	rt := strings.TrimPrefix(s, "oci/")
	if rt == "runc" || rt == "crun" {
		return rt
	}
	return ""
}
