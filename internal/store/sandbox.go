package store

import "time"

// SandboxState is where a sandbox is in its lifecycle:
// starting -> running -> pausing -> paused -> resuming -> running, and
// from any of them to ended. Pausing and resuming are recorded before the
// runtime acts and left only once it has, so a server that stops in
// between finds on its next start which step was under way.
type SandboxState string

// The states. Ended is terminal.
const (
	StateStarting SandboxState = "starting"
	StateRunning  SandboxState = "running"
	StatePaused   SandboxState = "paused"
	StateEnded    SandboxState = "ended"
	// StatePausing: a pause is under way (the checkpoint or stop is not
	// complete yet).
	StatePausing SandboxState = "pausing"
	// StateResuming: a resume is under way (the restore or boot is not
	// complete yet).
	StateResuming SandboxState = "resuming"
)

// LiveStates are the states of a sandbox that has not ended.
var LiveStates = []SandboxState{StateStarting, StateRunning, StatePausing, StatePaused, StateResuming}

// Valid reports whether s is one of the defined states.
func (s SandboxState) Valid() bool {
	switch s {
	case StateStarting, StateRunning, StatePausing, StatePaused, StateResuming, StateEnded:
		return true
	}
	return false
}

// EndReason says why a sandbox ended.
type EndReason string

// The reasons.
const (
	// ReasonKilled: a client asked for it.
	ReasonKilled EndReason = "killed"
	// ReasonTimeout: the sandbox ran past its EndAt.
	ReasonTimeout EndReason = "timeout"
	// ReasonOOM: the sandbox's main process was killed for memory.
	ReasonOOM EndReason = "oom"
	// ReasonError: the runtime failed the sandbox.
	ReasonError EndReason = "error"
	// ReasonLost: the sandbox was gone when the control plane looked, e.g.
	// after a host restart.
	ReasonLost EndReason = "lost"
)

// Valid reports whether r is one of the defined reasons.
func (r EndReason) Valid() bool {
	switch r {
	case ReasonKilled, ReasonTimeout, ReasonOOM, ReasonError, ReasonLost:
		return true
	}
	return false
}

// Sandbox is the control plane's record of one sandbox.
type Sandbox struct {
	ID         string
	TemplateID string
	Alias      string
	ClientID   string

	State SandboxState
	// EndReason and EndMessage are set when State is StateEnded.
	EndReason  EndReason
	EndMessage string

	CPUCount int
	MemoryMB int
	DiskMB   int

	Metadata map[string]string
	// EnvdAccessToken authenticates calls to the sandbox's agent. It is a
	// secret: backends keep it where only the server can read it.
	EnvdAccessToken string
	// EnvVars are the create's environment variables, which a boot of
	// the sandbox from its filesystem (resume after a filesystem-only
	// pause) hands its fresh agent again. They may hold secrets, kept as
	// EnvdAccessToken is.
	EnvVars map[string]string

	CreatedAt time.Time
	// StartedAt is when the sandbox first entered StateRunning; zero before.
	StartedAt time.Time
	// EndAt is when the sandbox is scheduled to time out; zero for never.
	EndAt time.Time
	// EndedAt is when the sandbox ended; nil until it has.
	EndedAt *time.Time

	// Runtime names the runtime driver that runs the sandbox ("oci/runc").
	Runtime string
	// Node is the joined node the sandbox runs on, by name; empty for
	// the server's embedded node. It never changes.
	Node string

	// Network is the sandbox's network configuration; nil means E2B's
	// defaults (internet access, no rules, public traffic).
	Network *NetworkConfig
	// TrafficAccessToken guards the sandbox's user ports when
	// Network.AllowPublicTraffic is false. A secret, like EnvdAccessToken.
	TrafficAccessToken string

	// Lifecycle is what happens at the timeout and to traffic while the
	// sandbox is paused; the zero value is E2B's default (killed).
	Lifecycle Lifecycle
}

// Lifecycle is E2B's NewSandbox autoPause, autoPauseMemory and
// autoResume.enabled.
type Lifecycle struct {
	// AutoPause pauses the sandbox at its timeout instead of killing it.
	AutoPause bool `json:"autoPause,omitempty"`
	// AutoPauseFilesystemOnly makes that pause keep the filesystem only
	// (E2B's autoPauseMemory false).
	AutoPauseFilesystemOnly bool `json:"autoPauseFilesystemOnly,omitempty"`
	// AutoResume resumes the paused sandbox when traffic reaches it
	// through the proxy (a pause with memory only).
	AutoResume bool `json:"autoResume,omitempty"`
}

// NetworkConfig is a sandbox's network as E2B describes it
// (NewSandbox.allow_internet_access and SandboxNetworkConfig).
type NetworkConfig struct {
	AllowInternetAccess bool     `json:"allowInternetAccess"`
	AllowOut            []string `json:"allowOut,omitempty"`
	DenyOut             []string `json:"denyOut,omitempty"`
	AllowPublicTraffic  bool     `json:"allowPublicTraffic"`
	MaskRequestHost     string   `json:"maskRequestHost,omitempty"`
	// EgressMbps, IngressMbps and MaxConnections are the sandbox's
	// network limits (SoulBox extensions); 0 is unlimited.
	EgressMbps     int `json:"egressMbps,omitempty"`
	IngressMbps    int `json:"ingressMbps,omitempty"`
	MaxConnections int `json:"maxConnections,omitempty"`
}

// SandboxFilter selects sandboxes for ListSandboxes. The zero filter selects
// every sandbox; each set field narrows the selection.
type SandboxFilter struct {
	// States, if not empty, selects sandboxes in any of these states.
	States []SandboxState
	// Metadata, if not empty, selects sandboxes whose metadata has every
	// one of these entries (and possibly more).
	Metadata map[string]string
	// TemplateID, if set, selects sandboxes of this template.
	TemplateID string
	// Team, if set, selects the sandboxes the team owns (ClientID).
	Team string
}
