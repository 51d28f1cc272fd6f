package template

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/soulbox/soulbox/internal/durable"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/logx"
)

// buildLocked builds canonical's current recipe into a fresh directory and
// switches the manifest to it; the caller holds the template's lock. A build
// that fails or is cancelled leaves nothing that counts: its directory is
// unmounted and removed, and the old manifest stays.
func (s *Store) buildLocked(ctx context.Context, canonical string) (Template, error) {
	r := s.recipes[canonical]
	version := r.version()
	nameDir := filepath.Join(s.dir, canonical)
	if err := mkdirPublic(nameDir); err != nil {
		return Template{}, err
	}
	old, err := readManifest(nameDir)
	if err != nil {
		s.log.WarnContext(ctx, "replacing unreadable template manifest", logx.Template(canonical), logx.Err(err))
		old = nil
	}
	keep := ""
	if old != nil {
		keep = old.Build
	}
	// We hold the lock, so anything else here is debris of a build that
	// crashed or of a switch whose cleanup failed.
	s.sweep(ctx, nameDir, keep)

	start := time.Now()
	log := s.log.With(logx.Template(canonical), slog.String("version", version))
	log.InfoContext(ctx, "building template")
	fmt.Fprintf(s.out, "template %s: building version %s (suite %s, mirror %s)\n", canonical, version, s.suite, s.mirror)

	tmp, err := os.MkdirTemp(nameDir, ".build-")
	if err != nil {
		return Template{}, fmt.Errorf("build template %q: %w", canonical, err)
	}
	// cleanup names what must go if we fail; it follows the build's renames.
	cleanup := tmp
	defer func() {
		if cleanup == "" {
			return
		}
		if err := removeTree(cleanup); err != nil {
			log.ErrorContext(ctx, "cannot remove failed template build", slog.String("path", cleanup), logx.Err(err))
		}
	}()
	rootfs := filepath.Join(tmp, "rootfs")
	if err := mkdirPublic(rootfs); err != nil {
		return Template{}, fmt.Errorf("build template %q: %w", canonical, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return Template{}, fmt.Errorf("build template %q: %w", canonical, err)
	}

	buildErr := s.buildFunc(canonical)(ctx, rootfs)
	// Whatever the build did, nothing it mounted may outlive it: a mount
	// left in the tree would be served to sandboxes or block its removal.
	if err := unmountUnder(tmp); err != nil && buildErr == nil {
		buildErr = err
	}
	if buildErr == nil {
		buildErr = ctx.Err()
	}
	if buildErr != nil {
		level := slog.LevelError
		if ctx.Err() != nil {
			level = slog.LevelWarn // asked for, not a fault
		}
		log.Log(ctx, level, "template build failed", slog.Duration("duration", time.Since(start)), logx.Err(buildErr))
		fmt.Fprintf(s.out, "template %s: build failed: %v\n", canonical, buildErr)
		return Template{}, fmt.Errorf("build template %q: %w", canonical, buildErr)
	}

	size, err := layer.DiskUsage(rootfs)
	if err != nil {
		return Template{}, fmt.Errorf("build template %q: %w", canonical, err)
	}
	// The manifest must not reach the disk before the files it vouches for.
	if err := durable.SyncFS(tmp); err != nil {
		return Template{}, fmt.Errorf("build template %q: %w", canonical, err)
	}
	buildID := newBuildID(nameDir, version)
	final := filepath.Join(nameDir, buildID)
	if err := os.Rename(tmp, final); err != nil {
		return Template{}, fmt.Errorf("build template %q: %w", canonical, err)
	}
	cleanup = final
	m := &manifest{
		Name:      canonical,
		Version:   version,
		Build:     buildID,
		Layers:    []string{"rootfs"},
		BuiltAt:   time.Now().UTC(),
		SizeBytes: size,
		Suite:     r.Suite,
		Mirror:    s.mirror,
		Packages:  r.Packages,
	}
	if err := writeManifest(nameDir, m); err != nil {
		return Template{}, fmt.Errorf("build template %q: %w", canonical, err)
	}
	cleanup = ""

	// Only now, after the switch, may the previous build go.
	if old != nil && old.Build != buildID {
		if busy, _ := inUse(filepath.Join(nameDir, old.Build)); busy {
			log.InfoContext(ctx, "keeping previous template build while sandboxes use it", slog.String("build", old.Build))
		} else if err := removeTree(filepath.Join(nameDir, old.Build)); err != nil {
			log.WarnContext(ctx, "cannot remove previous template build", slog.String("build", old.Build), logx.Err(err))
		}
	}
	d := time.Since(start).Round(time.Second)
	log.InfoContext(ctx, "built template", slog.String("build", buildID),
		slog.Duration("duration", d), slog.Int64("size_bytes", size))
	fmt.Fprintf(s.out, "template %s: built %s in %s, %d MB\n", canonical, buildID, d, size>>20)
	t := s.current(ctx, canonical)
	if !t.Built {
		return Template{}, fmt.Errorf("build template %q: build %s vanished right after it was installed", canonical, buildID)
	}
	return t, nil
}

// buildFunc returns what fills a rootfs for template canonical.
func (s *Store) buildFunc(canonical string) func(ctx context.Context, rootfs string) error {
	if s.build != nil {
		return s.build
	}
	// base is the only recipe so far; a second one adds a case here.
	return s.buildBase
}

// sweep removes everything in nameDir but the manifest and the build keep.
func (s *Store) sweep(ctx context.Context, nameDir, keep string) {
	entries, err := os.ReadDir(nameDir)
	if err != nil {
		s.log.WarnContext(ctx, "cannot list template directory", slog.String("path", nameDir), logx.Err(err))
		return
	}
	for _, e := range entries {
		if e.Name() == manifestFile || e.Name() == keep {
			continue
		}
		p := filepath.Join(nameDir, e.Name())
		if busy, _ := inUse(p); busy {
			continue // a sandbox still runs on it; a later sweep removes it
		}
		s.log.InfoContext(ctx, "removing leftover template build", slog.String("path", p))
		if err := removeTree(p); err != nil {
			s.log.WarnContext(ctx, "cannot remove leftover template build", slog.String("path", p), logx.Err(err))
		}
	}
}

// newBuildID names a build's directory: the version itself when free, as it
// is for every first build, else the version with a unique suffix (a
// rebuild while the version's first build is still current).
func newBuildID(nameDir, version string) string {
	id := version
	for {
		// Any error but "exists" ends the search; the rename will report it.
		if _, err := os.Lstat(filepath.Join(nameDir, id)); err != nil {
			return id
		}
		id = version + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
}
