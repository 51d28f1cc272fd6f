package client

import (
	"context"
	"time"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// Sandbox is a sandbox as the API describes it.
type Sandbox struct {
	SandboxID   string `json:"sandboxID"`
	TemplateID  string `json:"templateID"`
	ClientID    string `json:"clientID"`
	EnvdVersion string `json:"envdVersion"`
	// EnvdAccessToken guards the sandbox's agent; Create and Get fill it.
	EnvdAccessToken string            `json:"envdAccessToken,omitempty"`
	State           string            `json:"state,omitempty"`
	CPUCount        int               `json:"cpuCount,omitempty"`
	MemoryMB        int               `json:"memoryMB,omitempty"`
	DiskSizeMB      int               `json:"diskSizeMB,omitempty"`
	StartedAt       time.Time         `json:"startedAt,omitzero"`
	EndAt           time.Time         `json:"endAt,omitzero"`
	Metadata        map[string]string `json:"metadata,omitempty"`
}

func fromInfo(i soulbox.SandboxInfo, h *soulbox.Sandbox) Sandbox {
	token := ""
	if h != nil {
		token = h.AccessToken()
	}
	return Sandbox{EnvdAccessToken: token, SandboxID: i.SandboxID, TemplateID: i.TemplateID, ClientID: i.ClientID, EnvdVersion: i.EnvdVersion, State: i.State,
		CPUCount: i.CPUCount, MemoryMB: i.MemoryMB, DiskSizeMB: i.DiskSizeMB, StartedAt: i.StartedAt, EndAt: i.EndAt, Metadata: i.Metadata}
}

// handle is the SDK's handle on sb, with sb's token, or with the one the
// API gives when sb has none (it came from List).
func (c *Client) handle(ctx context.Context, sb Sandbox) (*soulbox.Sandbox, error) {
	api, err := c.api()
	if err != nil {
		return nil, err
	}
	if sb.EnvdAccessToken != "" {
		return api.Handle(sb.SandboxID, sb.EnvdAccessToken), nil
	}
	return api.Get(ctx, sb.SandboxID)
}

// CreateOptions are what a sandbox is created with; zero fields take the
// server's defaults.
type CreateOptions struct {
	Template string
	Timeout  time.Duration
	CPUCount int
	MemoryMB int
	Metadata map[string]string
	EnvVars  map[string]string
}

// Create creates a sandbox and returns it with its access token.
func (c *Client) Create(ctx context.Context, o CreateOptions) (Sandbox, error) {
	api, err := c.api()
	if err != nil {
		return Sandbox{}, err
	}
	if o.Template == "" {
		o.Template = soulbox.DefaultTemplate
	}
	h, err := api.Create(ctx, o.Template, soulbox.CreateOptions{Timeout: o.Timeout, CPUCount: o.CPUCount, MemoryMB: o.MemoryMB, Metadata: o.Metadata, EnvVars: o.EnvVars})
	if err != nil {
		return Sandbox{}, err
	}
	return fromInfo(h.Info(), h), nil
}

// Get returns a sandbox with its details and access token.
func (c *Client) Get(ctx context.Context, id string) (Sandbox, error) {
	api, err := c.api()
	if err != nil {
		return Sandbox{}, err
	}
	h, err := api.Get(ctx, id)
	if err != nil {
		return Sandbox{}, err
	}
	return fromInfo(h.Info(), h), nil
}

// Kill ends a sandbox.
func (c *Client) Kill(ctx context.Context, id string) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	return api.Kill(ctx, id)
}

// ListOptions filter List.
type ListOptions struct {
	States   []string // running, paused; empty: both
	Metadata map[string]string
}

// List returns every sandbox the filters select, following pagination.
func (c *Client) List(ctx context.Context, o ListOptions) ([]Sandbox, error) {
	api, err := c.api()
	if err != nil {
		return nil, err
	}
	var all []Sandbox
	for info, err := range api.List(ctx, &soulbox.ListOptions{States: o.States, Metadata: o.Metadata}) {
		if err != nil {
			return nil, err
		}
		all = append(all, fromInfo(info, nil))
	}
	return all, nil
}

// Pause freezes a running sandbox.
func (c *Client) Pause(ctx context.Context, id string) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	return api.Pause(ctx, id)
}

// Resume resumes a paused sandbox (or finds a running one) and keeps it
// alive at least timeout more (0: the server's default).
func (c *Client) Resume(ctx context.Context, id string, timeout time.Duration) (Sandbox, error) {
	api, err := c.api()
	if err != nil {
		return Sandbox{}, err
	}
	h, err := api.Connect(ctx, id, timeout)
	if err != nil {
		return Sandbox{}, err
	}
	return fromInfo(h.Info(), h), nil
}

// Metric is one sample of a sandbox's resource use.
type Metric = soulbox.Metric

// Metrics returns a sandbox's samples.
func (c *Client) Metrics(ctx context.Context, id string) ([]Metric, error) {
	api, err := c.api()
	if err != nil {
		return nil, err
	}
	return api.Metrics(ctx, id, time.Time{}, time.Time{})
}

// MetricsSince returns a sandbox's samples from start (whole seconds,
// inclusive) on.
func (c *Client) MetricsSince(ctx context.Context, id string, start time.Time) ([]Metric, error) {
	api, err := c.api()
	if err != nil {
		return nil, err
	}
	return api.Metrics(ctx, id, start, time.Time{})
}

// LogEntry is one line of a sandbox's log.
type LogEntry = soulbox.LogEntry

// Logs returns a sandbox's log entries from start on.
func (c *Client) Logs(ctx context.Context, id string, start time.Time) ([]LogEntry, error) {
	api, err := c.api()
	if err != nil {
		return nil, err
	}
	return api.Logs(ctx, id, start)
}
