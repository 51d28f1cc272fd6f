package api

import (
	"time"

	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/store"
)

// sandboxJSON is E2B's Sandbox: the answer to create and connect.
type sandboxJSON struct {
	TemplateID         string  `json:"templateID"`
	SandboxID          string  `json:"sandboxID"`
	ClientID           string  `json:"clientID"`
	EnvdVersion        string  `json:"envdVersion"`
	EnvdAccessToken    *string `json:"envdAccessToken"`
	TrafficAccessToken *string `json:"trafficAccessToken"`
	Alias              *string `json:"alias,omitempty"`
	// Domain is the server's domain of sandbox hosts: the SDKs build a
	// port's host <port>-<id>.<domain> from it. With E2B_SANDBOX_URL set
	// they still send the agent's traffic there; only getHost uses it.
	Domain *string `json:"domain"`
}

func toSandbox(sb store.Sandbox, domain string) sandboxJSON {
	out := sandboxJSON{TemplateID: sb.TemplateID, SandboxID: sb.ID, ClientID: sb.ClientID, EnvdVersion: EnvdVersion,
		Domain: optional(domain)}
	if sb.EnvdAccessToken != "" {
		tok := sb.EnvdAccessToken
		out.EnvdAccessToken = &tok
	}
	if sb.Alias != "" {
		alias := sb.Alias
		out.Alias = &alias
	}
	if sb.TrafficAccessToken != "" {
		tok := sb.TrafficAccessToken
		out.TrafficAccessToken = &tok
	}
	return out
}

// listedJSON is E2B's ListedSandbox.
type listedJSON struct {
	TemplateID  string            `json:"templateID"`
	SandboxID   string            `json:"sandboxID"`
	ClientID    string            `json:"clientID"`
	Alias       *string           `json:"alias,omitempty"`
	StartedAt   time.Time         `json:"startedAt"`
	EndAt       time.Time         `json:"endAt"`
	CPUCount    int               `json:"cpuCount"`
	MemoryMB    int               `json:"memoryMB"`
	DiskSizeMB  int               `json:"diskSizeMB"`
	State       string            `json:"state"`
	EnvdVersion string            `json:"envdVersion"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

func toListed(sb store.Sandbox) listedJSON {
	out := listedJSON{
		TemplateID: sb.TemplateID, SandboxID: sb.ID, ClientID: sb.ClientID, StartedAt: startedAt(sb), EndAt: sb.EndAt,
		CPUCount: sb.CPUCount, MemoryMB: sb.MemoryMB, DiskSizeMB: sb.DiskMB, State: e2bState(sb.State),
		EnvdVersion: EnvdVersion, Metadata: sb.Metadata,
	}
	if sb.Alias != "" {
		alias := sb.Alias
		out.Alias = &alias
	}
	return out
}

// detailJSON is E2B's SandboxDetail.
type detailJSON struct {
	listedJSON
	EnvdAccessToken     *string       `json:"envdAccessToken,omitempty"`
	AllowInternetAccess bool          `json:"allowInternetAccess"`
	Domain              *string       `json:"domain"`
	Network             *networkJSON  `json:"network,omitempty"`
	Lifecycle           lifecycleJSON `json:"lifecycle"`
}

type lifecycleJSON struct {
	AutoResume bool   `json:"autoResume"`
	OnTimeout  string `json:"onTimeout"`
}

func toDetail(sb store.Sandbox, domain string) detailJSON {
	d := detailJSON{listedJSON: toListed(sb), Lifecycle: lifecycleJSON{OnTimeout: "kill", AutoResume: sb.Lifecycle.AutoResume}, Domain: optional(domain)}
	if sb.Lifecycle.AutoPause {
		d.Lifecycle.OnTimeout = "pause"
	}
	d.Network, d.AllowInternetAccess = toNetworkJSON(sb.Network)
	if sb.EnvdAccessToken != "" {
		tok := sb.EnvdAccessToken
		d.EnvdAccessToken = &tok
	}
	return d
}

// metricJSON is E2B's SandboxMetric.
type metricJSON struct {
	Timestamp     time.Time `json:"timestamp"`
	TimestampUnix int64     `json:"timestampUnix"`
	CPUCount      int       `json:"cpuCount"`
	CPUUsedPct    float64   `json:"cpuUsedPct"`
	MemUsed       uint64    `json:"memUsed"`
	MemTotal      uint64    `json:"memTotal"`
	MemCache      uint64    `json:"memCache"`
	DiskUsed      uint64    `json:"diskUsed"`
	DiskTotal     uint64    `json:"diskTotal"`
	// SoulBox's additions: the sandbox's network counters so far, and the
	// width in seconds of a downsampled bucket (0: a raw 5 s sample).
	NetRxBytes        uint64 `json:"netRxBytes"`
	NetTxBytes        uint64 `json:"netTxBytes"`
	ResolutionSeconds int64  `json:"resolutionSeconds"`
}

func toMetric(m lifecycle.Metric) metricJSON {
	return metricJSON{
		Timestamp: m.Timestamp.UTC(), TimestampUnix: m.Timestamp.Unix(), CPUCount: m.CPUCount, CPUUsedPct: m.CPUUsedPct,
		MemUsed: m.MemUsed, MemTotal: m.MemTotal, MemCache: m.MemCache, DiskUsed: m.DiskUsed, DiskTotal: m.DiskTotal,
		NetRxBytes: m.NetRxBytes, NetTxBytes: m.NetTxBytes, ResolutionSeconds: int64(m.Resolution / time.Second),
	}
}

// optional is s, or nil (JSON null) when empty.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
