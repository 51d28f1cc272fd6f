// Package oci is the runtime driver that runs sandboxes as OCI containers
// with the distribution's runtimes: runc everywhere, crun where the host's
// cgroup layout lets it run, runsc (gVisor) as the stronger tier.
//
// SoulBox writes each container's runtime-spec config.json itself (see
// spec.go) and composes the root filesystem before the runtime sees it:
// the template's read-only layers, each an idmapped mount shifted to the
// sandbox's own host uid range, under an overlayfs whose upper layer lives in
// a sparse ext4 image of the sandbox's disk size. The image is the disk
// quota: a writer gets ENOSPC when it is full. (The host's filesystem
// would need project quotas enabled at mount time to do without it.)
//
// On-disk layout under the driver's root:
//
//	bin/soulbox-agent          the agent, shared read-only by every sandbox
//	disks/blank-v<N>-<size>M.img  an empty formatted image per disk size,
//	                           copied (holes kept) to make a sandbox's disk
//	<runtime>/                 the runtime's own state (--root)
//	sandboxes/<id>/state.json  what the driver needs to find everything again
//	sandboxes/<id>/disk.img    sparse ext4 image: upper/ and work/
//	sandboxes/<id>/disk/       its mount point
//	sandboxes/<id>/lower<N>/   idmapped mounts of the template layers
//	sandboxes/<id>/rootfs/     the overlay the container runs in
//	sandboxes/<id>/config.json the runtime-spec bundle config
//	sandboxes/<id>/agent.log   the agent's stdout and stderr
//	sandboxes/<id>/criu.conf   CRIU's options for a checkpoint or restore
//	sandboxes/<id>/criu-loopback.sh  CRIU's action script on restore
//	sandboxes/<id>/criu-work/  CRIU's logs while one runs
package oci

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/network"
	"github.com/soulbox/soulbox/internal/runtime"
)

var _ runtime.Driver = (*Driver)(nil)

// Templates resolves a template name to the directories of its read-only
// root filesystem layers, topmost first.
type Templates interface {
	Layers(ctx context.Context, name string) ([]string, error)
}

// Config configures the driver.
type Config struct {
	// Root is the directory the driver keeps all its state in.
	Root string
	// AgentPath is the soulbox-agent binary started in every sandbox; it
	// is copied under Root so that a rebuild does not touch running
	// sandboxes.
	AgentPath string
	// Runtime forces one OCI runtime ("runc", "crun", "runsc"); empty
	// chooses the fastest one the host's cgroup layout supports.
	Runtime string
	// UIDBase is the first host uid handed to sandboxes; sandbox n maps
	// its root to UIDBase + n*65536. Default 1<<24, well clear of
	// /etc/subuid ranges handed to people.
	UIDBase uint32
	// RuntimePaths maps a runtime name to the binary to run for it;
	// runtimes not in it are looked up on PATH.
	RuntimePaths map[string]string
	// Templates resolves template names.
	Templates Templates
	// Logger receives the driver's logs.
	Logger *slog.Logger
	// Network, when set, gives every sandbox a link, NAT, DNS and an
	// egress policy (runtime.Spec.Network); without it a sandbox's network
	// namespace has loopback only.
	Network *network.Manager
	// CgroupParent is the cgroup (one name, directly under each
	// hierarchy's root) every sandbox is created under; empty derives it
	// from Root, so two drivers on one host never share one.
	CgroupParent string
	// Compat32 lets sandboxes make system calls through the host's 32-bit
	// ABIs (i386 and x32 on x86-64), filtered by the same profile, so
	// 32-bit programs run. Off, those calls kill the calling thread
	// (seccomp.go); sandboxes start faster and the kernel's compat entry
	// points are closed to them.
	Compat32 bool
}

// Driver runs sandboxes as OCI containers.
type Driver struct {
	root      string
	agentPath string
	runtime   string // default runtime binary name
	uidBase   uint32
	templates Templates
	log       *slog.Logger
	cgroups   cgroupLayout
	// runtimeBinaries overrides the binary run for a runtime name; tests
	// put failpoint wrappers here.
	runtimeBinaries map[string]string
	network         *network.Manager // nil: loopback only
	compat32        bool             // Config.Compat32

	mu    sync.Mutex // guards locks
	locks map[string]*idLock

	// parentMu is held shared while a runtime creates a sandbox's cgroups
	// under the driver's parent, and exclusively to remove that parent
	// once empty, so the removal never pulls it from under a create.
	parentMu sync.RWMutex

	// phases, when set (by the benchmarks), is told the cost of every
	// step of a create, start and destroy (phases.go).
	phases phaseFunc

	// blankMu is held while a blank disk image is formatted (blankdisk.go).
	blankMu sync.Mutex

	// dials keeps the network namespace each sandbox's dials enter
	// (dialcache.go).
	dials dialCache

	// userns keeps the user namespace of each uid range (idmap.go).
	userns usernsCache
}

type idLock struct {
	sync.Mutex
	refs int
}

// New prepares the driver's root and picks the runtime.
func New(cfg Config) (*Driver, error) {
	if cfg.Root == "" || !filepath.IsAbs(cfg.Root) {
		return nil, fmt.Errorf("oci driver root %q must be an absolute path: %w", cfg.Root, errdefs.ErrInvalidArgument)
	}
	if cfg.Templates == nil {
		return nil, fmt.Errorf("oci driver needs a template resolver: %w", errdefs.ErrInvalidArgument)
	}
	if cfg.UIDBase == 0 {
		cfg.UIDBase = 1 << 24
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if _, err := nativeSeccomp(); err != nil {
		return nil, fmt.Errorf("oci driver: %w: %w", err, errdefs.ErrFailedPrecondition)
	}
	parent := cfg.CgroupParent
	if parent == "" {
		parent = cgroupParentFor(cfg.Root)
	} else if err := ValidCgroupParent(parent); err != nil {
		return nil, err
	}
	layout, err := detectCgroups(parent)
	if err != nil {
		return nil, err
	}
	rt, err := chooseRuntime(cfg.Runtime, layout, exec.LookPath)
	if err != nil {
		return nil, err
	}
	d := &Driver{
		root:            cfg.Root,
		uidBase:         cfg.UIDBase,
		runtime:         rt,
		templates:       cfg.Templates,
		log:             cfg.Logger,
		cgroups:         layout,
		runtimeBinaries: cfg.RuntimePaths,
		network:         cfg.Network,
		compat32:        cfg.Compat32,
		locks:           map[string]*idLock{},
	}
	// Every directory on the way to a rootfs must be searchable by the
	// sandbox's unprivileged root, which the runtime becomes before it
	// mounts the rootfs; 0711 lets it pass without listing.
	for _, dir := range []string{d.root, d.sandboxesDir(), filepath.Join(d.root, "bin")} {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return nil, fmt.Errorf("create driver directory: %w", err)
		}
		if err := os.Chmod(dir, 0o711); err != nil {
			return nil, fmt.Errorf("create driver directory: %w", err)
		}
	}
	if err := checkTraversable(d.root); err != nil {
		return nil, err
	}
	if d.agentPath, err = installAgent(cfg.AgentPath, filepath.Join(d.root, "bin")); err != nil {
		return nil, err
	}
	if err := d.loadSlots(); err != nil {
		return nil, err
	}
	d.sweepBlankDisks()
	d.settle()
	return d, nil
}

// Name reports the driver and its default runtime, e.g. "oci/runc".
func (d *Driver) Name() string { return "oci/" + d.runtime }

// Runtime is the runtime used when a spec names none.
func (d *Driver) Runtime() string { return d.runtime }

func (d *Driver) sandboxesDir() string { return filepath.Join(d.root, "sandboxes") }

func (d *Driver) sandboxDir(id string) string { return filepath.Join(d.sandboxesDir(), id) }

// lock serialises the lifecycle operations of one sandbox. The lock is
// dropped from the map when nobody holds or waits for it, so the map does
// not grow with every sandbox ever created.
func (d *Driver) lock(id string) (unlock func()) {
	d.mu.Lock()
	l, ok := d.locks[id]
	if !ok {
		l = &idLock{}
		d.locks[id] = l
	}
	l.refs++
	d.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		d.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(d.locks, id)
		}
		d.mu.Unlock()
	}
}

// checkTraversable fails unless every directory above root lets others
// search it: the runtime mounts a sandbox's root filesystem as the
// sandbox's root, an unprivileged host uid, which must pass through them.
func checkTraversable(root string) error {
	for dir := filepath.Dir(root); ; dir = filepath.Dir(dir) {
		st, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("check driver root: %w", err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("directory %s (mode %o) is not searchable by other users; sandboxes run as unprivileged host uids and must pass through it to their root filesystems: chmod o+x %s: %w",
				dir, st.Mode().Perm(), dir, errdefs.ErrFailedPrecondition)
		}
		if dir == "/" {
			return nil
		}
	}
}
