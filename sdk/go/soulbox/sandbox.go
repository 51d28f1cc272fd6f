package soulbox

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// SandboxInfo describes a sandbox as the API reports it.
type SandboxInfo struct {
	SandboxID   string            `json:"sandboxID"`
	TemplateID  string            `json:"templateID"`
	Alias       string            `json:"alias,omitempty"`
	ClientID    string            `json:"clientID"`
	EnvdVersion string            `json:"envdVersion"`
	State       string            `json:"state,omitempty"` // running or paused
	CPUCount    int               `json:"cpuCount,omitempty"`
	MemoryMB    int               `json:"memoryMB,omitempty"`
	DiskSizeMB  int               `json:"diskSizeMB,omitempty"`
	StartedAt   time.Time         `json:"startedAt,omitzero"`
	EndAt       time.Time         `json:"endAt,omitzero"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// sandboxJSON is the API's Sandbox and SandboxDetail: the info plus what
// reaching the sandbox takes.
type sandboxJSON struct {
	SandboxInfo
	EnvdAccessToken    string  `json:"envdAccessToken,omitempty"`
	TrafficAccessToken string  `json:"trafficAccessToken,omitempty"`
	Domain             *string `json:"domain,omitempty"`
}

// Sandbox is a handle on a running sandbox. Its methods and those of its
// Commands, PTY and Files reach the sandbox through the server.
type Sandbox struct {
	// ID is the sandbox's ID.
	ID string
	// Commands runs commands in the sandbox.
	Commands *Commands
	// PTY opens interactive terminals in the sandbox.
	PTY *PTY
	// Files reads, writes and watches the sandbox's files.
	Files *Files

	c            *Client
	info         SandboxInfo
	accessToken  string
	trafficToken string
	domain       string
}

// CreateOptions say how to create a sandbox; zero fields take the
// server's defaults.
type CreateOptions struct {
	// Timeout is how long the sandbox lives unless extended (default
	// five minutes on the server).
	Timeout time.Duration
	// Metadata is kept with the sandbox and filters List.
	Metadata map[string]string
	// EnvVars are set for every command in the sandbox.
	EnvVars map[string]string
	// CPUCount and MemoryMB size the sandbox (SoulBox extension).
	CPUCount int
	MemoryMB int
	// Secure makes the agent demand the access token (default true on
	// SoulBox; E2B's "secure" field).
	Secure *bool
	// AllowInternetAccess opens egress (default the server's policy).
	AllowInternetAccess *bool
}

// DefaultTemplate is the template of Create with an empty name: Debian
// with Python (numpy, pandas, matplotlib) and Node.js.
const DefaultTemplate = "base"

// Create starts a sandbox from template (DefaultTemplate when empty).
func (c *Client) Create(ctx context.Context, template string, o CreateOptions) (*Sandbox, error) {
	if template == "" {
		template = DefaultTemplate
	}
	body := map[string]any{"templateID": template}
	if o.Timeout > 0 {
		body["timeout"] = seconds(o.Timeout)
	}
	if o.CPUCount > 0 {
		body["cpuCount"] = o.CPUCount
	}
	if o.MemoryMB > 0 {
		body["memoryMB"] = o.MemoryMB
	}
	if len(o.Metadata) > 0 {
		body["metadata"] = o.Metadata
	}
	if len(o.EnvVars) > 0 {
		body["envVars"] = o.EnvVars
	}
	if o.Secure != nil {
		body["secure"] = *o.Secure
	}
	if o.AllowInternetAccess != nil {
		body["allow_internet_access"] = *o.AllowInternetAccess
	}
	var sj sandboxJSON
	if _, err := c.do(ctx, "POST", "/sandboxes", body, &sj); err != nil {
		return nil, err
	}
	return c.sandbox(sj), nil
}

// Connect returns a handle on an existing sandbox, resuming it when it is
// paused, and keeps it alive at least timeout more (0: the server's
// default).
func (c *Client) Connect(ctx context.Context, id string, timeout time.Duration) (*Sandbox, error) {
	body := map[string]any{}
	if timeout > 0 {
		body["timeout"] = seconds(timeout)
	}
	var sj sandboxJSON
	if _, err := c.do(ctx, "POST", "/sandboxes/"+url.PathEscape(id)+"/connect", body, &sj); err != nil {
		return nil, err
	}
	if sj.SandboxID == "" {
		sj.SandboxID = id
	}
	return c.sandbox(sj), nil
}

// Get returns a handle on sandbox id as it is: unlike Connect it neither
// resumes a paused sandbox nor extends its timeout.
func (c *Client) Get(ctx context.Context, id string) (*Sandbox, error) {
	var sj sandboxJSON
	if _, err := c.do(ctx, "GET", "/sandboxes/"+url.PathEscape(id), nil, &sj); err != nil {
		return nil, err
	}
	return c.sandbox(sj), nil
}

// Handle returns a handle on sandbox id with the access token Create or
// Get reported, without asking the API: for a program that kept both.
func (c *Client) Handle(id, accessToken string) *Sandbox {
	return c.sandbox(sandboxJSON{SandboxInfo: SandboxInfo{SandboxID: id}, EnvdAccessToken: accessToken})
}

// GetInfo returns what the API knows of sandbox id, running or paused.
func (c *Client) GetInfo(ctx context.Context, id string) (SandboxInfo, error) {
	var sj sandboxJSON
	_, err := c.do(ctx, "GET", "/sandboxes/"+url.PathEscape(id), nil, &sj)
	return sj.SandboxInfo, err
}

// Kill ends sandbox id and throws its files away.
func (c *Client) Kill(ctx context.Context, id string) error {
	_, err := c.do(ctx, "DELETE", "/sandboxes/"+url.PathEscape(id), nil, nil)
	return err
}

// KillProcesses kills every process of running sandbox id but its agent
// and returns once they are gone (POST /sandboxes/{id}/processes/kill, a
// SoulBox extension): the way back for a sandbox whose processes fill its
// limits, such as a fork bomb's orphans.
func (c *Client) KillProcesses(ctx context.Context, id string) error {
	_, err := c.do(ctx, "POST", "/sandboxes/"+url.PathEscape(id)+"/processes/kill", nil, nil)
	return err
}

// Pause freezes sandbox id with its memory; Connect resumes it.
func (c *Client) Pause(ctx context.Context, id string) error {
	_, err := c.do(ctx, "POST", "/sandboxes/"+url.PathEscape(id)+"/pause", map[string]any{}, nil)
	return err
}

// SetTimeout makes sandbox id end timeout from now.
func (c *Client) SetTimeout(ctx context.Context, id string, timeout time.Duration) error {
	_, err := c.do(ctx, "POST", "/sandboxes/"+url.PathEscape(id)+"/timeout", map[string]any{"timeout": seconds(timeout)}, nil)
	return err
}

// Metric is one sample of a sandbox's resource use.
type Metric struct {
	Timestamp  time.Time `json:"timestamp"`
	CPUCount   int       `json:"cpuCount"`
	CPUUsedPct float64   `json:"cpuUsedPct"`
	MemUsed    uint64    `json:"memUsed"`
	MemTotal   uint64    `json:"memTotal"`
	MemCache   uint64    `json:"memCache"`
	DiskUsed   uint64    `json:"diskUsed"`
	DiskTotal  uint64    `json:"diskTotal"`
}

// Metrics returns sandbox id's resource samples between start and end
// (zero: the server's window).
func (c *Client) Metrics(ctx context.Context, id string, start, end time.Time) ([]Metric, error) {
	q := url.Values{}
	if !start.IsZero() {
		q.Set("start", strconv.FormatInt(start.Unix(), 10))
	}
	if !end.IsZero() {
		q.Set("end", strconv.FormatInt(end.Unix(), 10))
	}
	path := "/sandboxes/" + url.PathEscape(id) + "/metrics"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out []Metric
	_, err := c.do(ctx, "GET", path, nil, &out)
	return out, err
}

// LogEntry is one entry of a sandbox's log.
type LogEntry struct {
	Timestamp time.Time         `json:"timestamp"`
	Level     string            `json:"level"`
	Message   string            `json:"message"`
	Fields    map[string]string `json:"fields"`
}

// Logs returns sandbox id's log entries from start on (zero: all the
// server keeps).
func (c *Client) Logs(ctx context.Context, id string, start time.Time) ([]LogEntry, error) {
	var out struct {
		LogEntries []LogEntry `json:"logEntries"`
	}
	path := "/sandboxes/" + url.PathEscape(id) + "/logs"
	if !start.IsZero() {
		path += "?start=" + strconv.FormatInt(start.UnixMilli(), 10)
	}
	_, err := c.do(ctx, "GET", path, nil, &out)
	return out.LogEntries, err
}

func (c *Client) sandbox(sj sandboxJSON) *Sandbox {
	sb := &Sandbox{ID: sj.SandboxID, c: c, info: sj.SandboxInfo, accessToken: sj.EnvdAccessToken, trafficToken: sj.TrafficAccessToken, domain: c.domain}
	if sj.Domain != nil && *sj.Domain != "" {
		sb.domain = *sj.Domain
	}
	sb.Commands = &Commands{sb: sb}
	sb.PTY = &PTY{sb: sb}
	sb.Files = &Files{sb: sb}
	return sb
}

// AccessToken is the token that guards the sandbox's agent ("" for a
// sandbox created with Secure false). Keep it secret: it opens the
// sandbox's commands and files without the API key.
func (sb *Sandbox) AccessToken() string { return sb.accessToken }

// Info is what the API said of the sandbox when this handle was made.
func (sb *Sandbox) Info() SandboxInfo { return sb.info }

// GetInfo asks the API for the sandbox's current state.
func (sb *Sandbox) GetInfo(ctx context.Context) (SandboxInfo, error) {
	return sb.c.GetInfo(ctx, sb.ID)
}

// Kill ends the sandbox.
func (sb *Sandbox) Kill(ctx context.Context) error { return sb.c.Kill(ctx, sb.ID) }

// Pause freezes the sandbox with its memory; Resume continues it.
func (sb *Sandbox) Pause(ctx context.Context) error { return sb.c.Pause(ctx, sb.ID) }

// Resume continues a paused sandbox and keeps it alive at least timeout
// more (0: the server's default).
func (sb *Sandbox) Resume(ctx context.Context, timeout time.Duration) error {
	n, err := sb.c.Connect(ctx, sb.ID, timeout)
	if err != nil {
		return err
	}
	if n.accessToken != "" {
		sb.accessToken = n.accessToken
	}
	return nil
}

// SetTimeout makes the sandbox end timeout from now.
func (sb *Sandbox) SetTimeout(ctx context.Context, timeout time.Duration) error {
	return sb.c.SetTimeout(ctx, sb.ID, timeout)
}

// Metrics returns the sandbox's resource samples of the server's window.
func (sb *Sandbox) Metrics(ctx context.Context) ([]Metric, error) {
	return sb.c.Metrics(ctx, sb.ID, time.Time{}, time.Time{})
}

// Host is the host name that reaches port in the sandbox,
// <port>-<id>.<domain>, as E2B's getHost.
func (sb *Sandbox) Host(port int) string {
	return strconv.Itoa(port) + "-" + sb.ID + "." + sb.domain
}

// URL is the URL that reaches a server listening on port in the sandbox:
// the sandbox host on the scheme and port of the client's sandbox URL,
// else of its API URL (https on E2B).
func (sb *Sandbox) URL(port int) string {
	return sb.hostURL(port)
}

// hostURL is <scheme>://<port>-<id>.<domain>[:<port of the server>].
func (sb *Sandbox) hostURL(port int) string {
	ref := sb.c.sandboxURL
	if ref == "" {
		ref = sb.c.apiURL
	}
	scheme, hostPort := "https", ""
	if u, err := url.Parse(ref); err == nil {
		scheme = u.Scheme
		if p := u.Port(); p != "" {
			hostPort = ":" + p
		}
	}
	return scheme + "://" + sb.Host(port) + hostPort
}

// base is where sandbox traffic to port goes, and whether it needs the
// routing headers (a shared sandbox URL) or not (a per-sandbox host, as
// on E2B).
func (sb *Sandbox) base(port int) (string, bool) {
	if sb.c.sandboxURL != "" {
		return sb.c.sandboxURL, true
	}
	return sb.hostURL(port), false
}

// setHeaders routes a request to port of the sandbox with its tokens and
// user, as the E2B SDKs do.
func (sb *Sandbox) setHeaders(h interface{ Set(string, string) }, port int, user string) {
	if _, routed := sb.base(port); routed {
		h.Set("E2b-Sandbox-Id", sb.ID)
		h.Set("E2b-Sandbox-Port", strconv.Itoa(port))
	}
	if sb.accessToken != "" {
		h.Set("X-Access-Token", sb.accessToken)
	}
	if user != "" {
		h.Set("Authorization", basicUser(user))
	}
}
