// Package runtime defines what SoulBox needs from a sandbox runtime: the
// Driver interface, the Spec a sandbox is created from, and the optional
// abilities a driver may have. Implementations live in subpackages
// (runtime/oci) and all pass the conformance suite in runtime/runtimetest.
package runtime

import (
	"context"
	"io"
	"net"
	"time"
)

// Driver creates and runs sandboxes on one host.
//
// Every method is safe for concurrent use on different sandboxes. A failed
// Create leaves nothing behind; Destroy removes everything a sandbox owns and
// may be called on a sandbox in any state, including one whose Create failed
// half-way.
type Driver interface {
	// Name identifies the driver and the runtime it chose ("oci/runc").
	Name() string
	// Create prepares a sandbox (root filesystem, cgroups, runtime state)
	// without starting its main process. Errors: ErrInvalidArgument for a bad
	// spec, ErrNotFound for an unknown template, ErrAlreadyExists for a
	// duplicate id.
	Create(ctx context.Context, spec Spec) (Info, error)
	// Start starts the sandbox's main process, the agent.
	Start(ctx context.Context, id string) error
	// Exec runs a process inside the running sandbox and waits for it.
	Exec(ctx context.Context, id string, req ExecRequest) (ExecResult, error)
	// Pause freezes every process of the sandbox in memory.
	Pause(ctx context.Context, id string) error
	// Resume thaws a paused sandbox.
	Resume(ctx context.Context, id string) error
	// Stop kills every process of the sandbox and keeps its resources, so its
	// state can still be read. Stopping a stopped sandbox is not an error.
	Stop(ctx context.Context, id string) error
	// Destroy stops the sandbox and removes everything it owns: processes,
	// mounts, cgroups, runtime state and files. It returns ErrNotFound only if
	// nothing of the sandbox was found.
	Destroy(ctx context.Context, id string) error
	// Stats reads the sandbox's current resource usage.
	Stats(ctx context.Context, id string) (Stats, error)
	// Info returns the sandbox's current state.
	Info(ctx context.Context, id string) (Info, error)
	// List returns every sandbox the driver knows on this host, including
	// leftovers of a previous process (for reconciliation).
	List(ctx context.Context) ([]Info, error)
}

// Checkpointer is the optional ability to save a sandbox's memory and
// processes to disk and restore them later.
type Checkpointer interface {
	// Checkpoint saves the running or paused sandbox's processes, memory,
	// open files and listening sockets into dir, which must not exist and
	// appears only once complete, and stops the sandbox: its processes
	// end and the memory they held is released; its filesystem is kept.
	// Errors: ErrFailedPrecondition when the sandbox is not running or
	// the host cannot checkpoint it, ErrAlreadyExists when dir exists.
	// On failure the sandbox keeps running.
	Checkpoint(ctx context.Context, id, dir string) error
	// Restore brings a checkpointed sandbox back from dir: the same
	// processes under the same id, on the same filesystem. dir is kept.
	// Errors: ErrNotFound when dir holds no complete checkpoint,
	// ErrFailedPrecondition when the sandbox is not stopped.
	Restore(ctx context.Context, id, dir string) error
}

// Recreator is the optional ability to boot a stopped (or checkpointed)
// sandbox again from the filesystem it kept: a fresh agent and no other
// process, the same id, writable layer and identity. Start it afterwards.
type Recreator interface {
	Recreate(ctx context.Context, id string) error
	// Release frees what a stopped sandbox holds besides its files (the
	// runtime's record, its cgroups and the memory charged to them) until
	// Recreate. Errors: ErrFailedPrecondition when it is not stopped.
	Release(ctx context.Context, id string) error
}

// Cloner is the optional ability to make new sandboxes with a running
// sandbox's processes, memory and files: CheckpointClone saves them into
// dir (which must not exist) and leaves the sandbox running as it was;
// RestoreClone creates sandbox spec.ID and brings them back in it, under
// its own id, host uids, network and host name.
type Cloner interface {
	CheckpointClone(ctx context.Context, id, dir string) error
	RestoreClone(ctx context.Context, spec Spec, dir string) error
}

// ProcessCloner is the optional ability of a Cloner to save a clone
// checkpoint without the sandbox's writable layer, which the caller keeps
// as a layer itself: Cloner.RestoreClone of it is given a template whose
// top layer holds those files, so that they are stored once.
type ProcessCloner interface {
	CheckpointCloneProcesses(ctx context.Context, id, dir string) error
}

// WritableLayerReader is the optional ability to name the directory
// holding what a sandbox changed in its root filesystem (an overlayfs
// upper directory) and the host uid its root maps to, for keeping those
// changes as a layer (a template build step, a snapshot).
type WritableLayerReader interface {
	WritableLayer(ctx context.Context, id string) (dir string, hostUID uint32, err error)
}

// Updater is the optional ability to change a running sandbox's CPU and
// memory limits; a warm pool uses it to fit a pooled sandbox to the
// request that claims it.
type Updater interface {
	Update(ctx context.Context, id string, l Limits) error
}

// NetworkPolicer is the optional ability to replace a running sandbox's
// egress policy (see Spec.Network) at once: new connections follow the
// new policy, established ones are kept.
type NetworkPolicer interface {
	SetNetworkPolicy(ctx context.Context, id string, p NetworkPolicy) error
}

// NetworkRepairer is the optional ability to give a created or running
// sandbox its network back if its runtime made it a new network
// namespace the server did not see to (a restore finished while the
// server was down); a no-op when the network is in place.
type NetworkRepairer interface {
	RepairNetwork(ctx context.Context, id string) error
}

// Prioritizer is the optional ability to set the CPU niceness of every
// process of a running sandbox (see Spec.Niceness).
type Prioritizer interface {
	SetNiceness(ctx context.Context, id string, niceness int) error
}

// Status is the lifecycle state of a sandbox as the runtime sees it.
type Status string

// The statuses a driver reports.
const (
	StatusCreated Status = "created" // prepared, main process not started
	StatusRunning Status = "running"
	StatusPaused  Status = "paused"
	StatusStopped Status = "stopped" // main process gone, resources kept
)

// Info describes one sandbox.
type Info struct {
	ID        string
	Template  string
	Runtime   string // the OCI runtime binary in use: runc, crun or runsc
	Status    Status
	Pid       int // host pid of the main process, 0 when not running
	CreatedAt time.Time
	Limits    Limits
	// HostUID is the host uid that root inside the sandbox maps to.
	HostUID uint32
	// ClaimedAt, set by a joined node's listing only, is when its warm
	// pool handed the sandbox to a create, if that was within the
	// node's claim grace (nodepool.ClaimGrace): the create may not have
	// recorded it yet, so a settling must not take it for an orphan.
	ClaimedAt time.Time
}

// ExecRequest is a process to run inside a sandbox.
type ExecRequest struct {
	Args []string // Args[0] is looked up in the sandbox's PATH
	Env  []string // KEY=value, added to the sandbox's defaults
	Cwd  string   // defaults to the user's home
	User string   // user name or uid inside the sandbox; default "root"

	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// ExecResult is how an exec'd process ended.
type ExecResult struct {
	ExitCode int // 128+signal when killed by a signal
}

// Stats is a sandbox's resource usage at one moment.
type Stats struct {
	Timestamp     time.Time
	CPUUsageNanos uint64 // cumulative CPU time of all processes
	MemoryUsage   uint64 // bytes, including page cache
	MemoryCache   uint64 // bytes of page cache
	MemoryLimit   uint64 // bytes
	OOMKills      uint64 // processes killed by the memory limit so far
	Pids          uint64 // processes and threads now
	PidsLimit     uint64
	DiskUsed      uint64 // bytes used in the writable layer
	DiskTotal     uint64 // bytes the writable layer may hold
	NetRxBytes    uint64 // bytes the sandbox received on its link so far
	NetTxBytes    uint64 // bytes the sandbox sent on its link so far
}

// UserKiller is implemented by drivers that keep the sandbox's processes
// apart from its agent and can end them all.
type UserKiller interface {
	// KillUserProcesses kills every process of the sandbox but its
	// agent, however full the sandbox's pid and memory limits are.
	KillUserProcesses(ctx context.Context, id string) error
}

// Dialer is the optional ability to open a connection to a port inside a
// sandbox from the host, whatever the sandbox's network setup: the way the
// server reaches the agent and the ports a sandbox's processes listen on.
type Dialer interface {
	DialContext(ctx context.Context, id string, port int) (net.Conn, error)
}

// LogReader is the optional ability to read what a sandbox's main process
// (the agent) wrote to its stdout and stderr.
type LogReader interface {
	// Logs returns up to the last max bytes of the sandbox's log.
	Logs(ctx context.Context, id string, max int64) ([]byte, error)
}
