package template

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/logx"
)

// Defaults for Options.
const (
	DefaultMirror = "http://deb.debian.org/debian"
	DefaultSuite  = "bookworm"
	// DefaultKeyring is where Debian's debian-archive-keyring package puts
	// the keys that sign Debian's archives.
	DefaultKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
)

// Options configure a Store. Zero fields take the defaults.
type Options struct {
	// Mirror is the Debian mirror debootstrap and apt use.
	Mirror string
	// Suite is the Debian release templates are built from.
	Suite string
	// Keyring holds the keys the mirror's Release file must be signed
	// with (an OpenPGP keyring, as gpgv reads); a build without it is
	// refused rather than run unverified.
	Keyring string
	// Logger receives build start and finish; nil discards.
	Logger *slog.Logger
	// Progress receives the output of build commands line by line, each
	// prefixed with the template's name; nil discards.
	Progress io.Writer
}

// Template describes one template and, if built, its current build.
type Template struct {
	// Name is the canonical name; Aliases are the other names it answers to.
	Name    string
	Aliases []string
	// Version is the hash of the template's current recipe.
	Version string
	// Built reports whether a build of Version exists; the fields below are
	// zero otherwise.
	Built bool
	// BuildID names the build's directory; every build gets a new one.
	BuildID string
	// Layers are absolute paths of the read-only rootfs layers, topmost first.
	Layers    []string
	BuiltAt   time.Time
	SizeBytes int64
}

// Store is the template registry and build cache. It is safe for concurrent
// use, also by several processes sharing one directory.
type Store struct {
	dir     string
	mirror  string
	suite   string
	keyring string
	log     *slog.Logger
	out     *syncWriter
	// recipes maps canonical names to what they are built from.
	recipes map[string]recipe
	// build replaces the recipe's build in tests; nil runs the real one.
	build func(ctx context.Context, rootfs string) error

	mu   sync.Mutex
	sems map[string]chan struct{}
}

// New returns a store caching templates under dir. Nothing is created on
// disk until a template is built.
func New(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("template cache directory is empty")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("template cache directory %q: %w", dir, err)
	}
	if opts.Mirror == "" {
		opts.Mirror = DefaultMirror
	}
	if opts.Suite == "" {
		opts.Suite = DefaultSuite
	}
	if opts.Keyring == "" {
		opts.Keyring = DefaultKeyring
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	return &Store{
		dir:     abs,
		mirror:  opts.Mirror,
		suite:   opts.Suite,
		keyring: opts.Keyring,
		log:     opts.Logger,
		out:     &syncWriter{w: opts.Progress},
		recipes: map[string]recipe{"base": baseRecipe(opts.Suite)},
		sems:    map[string]chan struct{}{},
	}, nil
}

// Dir returns the store's cache directory.
func (s *Store) Dir() string { return s.dir }

// Layers returns the absolute paths of template name's read-only rootfs
// layers, topmost first, building the template first if needed.
func (s *Store) Layers(ctx context.Context, name string) ([]string, error) {
	t, err := s.Ensure(ctx, name)
	if err != nil {
		return nil, err
	}
	return t.Layers, nil
}

// Ensure returns template name, building it first unless its current recipe
// version is already built. Concurrent callers for the same template, in
// this process or another, wait for a single build.
func (s *Store) Ensure(ctx context.Context, name string) (Template, error) {
	canonical, err := s.Resolve(name)
	if err != nil {
		return Template{}, err
	}
	// The common case takes no lock: the manifest is replaced atomically.
	if t := s.current(ctx, canonical); t.Built {
		return t, nil
	}
	unlock, err := s.lock(ctx, canonical)
	if err != nil {
		return Template{}, err
	}
	defer unlock()
	// Whoever held the lock before us may have built it.
	if t := s.current(ctx, canonical); t.Built {
		return t, nil
	}
	return s.buildLocked(ctx, canonical)
}

// Rebuild builds template name afresh even if it is built, then switches to
// the new build. Until the switch, callers keep getting the old build.
func (s *Store) Rebuild(ctx context.Context, name string) error {
	canonical, err := s.Resolve(name)
	if err != nil {
		return err
	}
	unlock, err := s.lock(ctx, canonical)
	if err != nil {
		return err
	}
	defer unlock()
	_, err = s.buildLocked(ctx, canonical)
	return err
}

// List returns every known template, built or not, sorted by name. It never
// builds.
func (s *Store) List(ctx context.Context) ([]Template, error) {
	var out []Template
	for _, name := range canonicalNames() {
		out = append(out, s.current(ctx, name))
	}
	return out, nil
}

// current describes canonical's current build, with Built false when the
// current recipe version has none. An unreadable manifest counts as no
// build, so the next Ensure replaces it.
func (s *Store) current(ctx context.Context, canonical string) Template {
	r := s.recipes[canonical]
	t := Template{Name: canonical, Aliases: aliasesOf(canonical), Version: r.version()}
	nameDir := filepath.Join(s.dir, canonical)
	m, err := readManifest(nameDir)
	if err != nil {
		s.log.WarnContext(ctx, "ignoring template manifest", logx.Template(canonical), logx.Err(err))
		return t
	}
	if m == nil || m.Version != t.Version {
		return t
	}
	var layers []string
	for _, l := range m.Layers {
		p := filepath.Join(nameDir, m.Build, l)
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			s.log.WarnContext(ctx, "template manifest names a missing layer", logx.Template(canonical), slog.String("layer", p))
			return t
		}
		layers = append(layers, p)
	}
	t.Built = true
	t.BuildID = m.Build
	t.Layers = layers
	t.BuiltAt = m.BuiltAt
	t.SizeBytes = m.SizeBytes
	return t
}
