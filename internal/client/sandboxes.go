package client

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sandbox is a sandbox as the API describes it.
type Sandbox struct {
	SandboxID       string            `json:"sandboxID"`
	TemplateID      string            `json:"templateID"`
	ClientID        string            `json:"clientID"`
	EnvdVersion     string            `json:"envdVersion"`
	EnvdAccessToken string            `json:"envdAccessToken,omitempty"`
	State           string            `json:"state,omitempty"`
	CPUCount        int               `json:"cpuCount,omitempty"`
	MemoryMB        int               `json:"memoryMB,omitempty"`
	DiskSizeMB      int               `json:"diskSizeMB,omitempty"`
	StartedAt       time.Time         `json:"startedAt,omitzero"`
	EndAt           time.Time         `json:"endAt,omitzero"`
	Metadata        map[string]string `json:"metadata,omitempty"`
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
	body := map[string]any{"templateID": o.Template}
	if o.Timeout > 0 {
		body["timeout"] = int64(o.Timeout.Seconds())
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
	var sb Sandbox
	_, err := c.do(ctx, "POST", "/sandboxes", body, &sb)
	return sb, err
}

// Get returns a sandbox with its details and access token.
func (c *Client) Get(ctx context.Context, id string) (Sandbox, error) {
	var sb Sandbox
	_, err := c.do(ctx, "GET", "/sandboxes/"+url.PathEscape(id), nil, &sb)
	return sb, err
}

// Kill ends a sandbox.
func (c *Client) Kill(ctx context.Context, id string) error {
	_, err := c.do(ctx, "DELETE", "/sandboxes/"+url.PathEscape(id), nil, nil)
	return err
}

// ListOptions filter List.
type ListOptions struct {
	States   []string // running, paused; empty: both
	Metadata map[string]string
}

// List returns every sandbox the filters select, following pagination.
func (c *Client) List(ctx context.Context, o ListOptions) ([]Sandbox, error) {
	q := url.Values{}
	if len(o.States) > 0 {
		q.Set("state", strings.Join(o.States, ","))
	}
	if len(o.Metadata) > 0 {
		md := url.Values{}
		for k, v := range o.Metadata {
			md.Set(k, v)
		}
		q.Set("metadata", md.Encode())
	}
	var all []Sandbox
	for {
		var page []Sandbox
		h, err := c.do(ctx, "GET", "/v2/sandboxes?"+q.Encode(), nil, &page)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		next := h.Get("X-Next-Token")
		if next == "" {
			return all, nil
		}
		q.Set("nextToken", next)
	}
}

// Pause freezes a running sandbox.
func (c *Client) Pause(ctx context.Context, id string) error {
	_, err := c.do(ctx, "POST", "/sandboxes/"+url.PathEscape(id)+"/pause", nil, nil)
	return err
}

// Resume resumes a paused sandbox (or finds a running one) and keeps it
// alive at least timeout more (0: the server's default).
func (c *Client) Resume(ctx context.Context, id string, timeout time.Duration) (Sandbox, error) {
	body := map[string]any{}
	if timeout > 0 {
		body["timeout"] = int64(timeout.Seconds())
	}
	var sb Sandbox
	_, err := c.do(ctx, "POST", "/sandboxes/"+url.PathEscape(id)+"/connect", body, &sb)
	return sb, err
}

// Metric is one sample of a sandbox's resource use.
type Metric struct {
	Timestamp  time.Time `json:"timestamp"`
	CPUCount   int       `json:"cpuCount"`
	CPUUsedPct float64   `json:"cpuUsedPct"`
	MemUsed    uint64    `json:"memUsed"`
	MemTotal   uint64    `json:"memTotal"`
	DiskUsed   uint64    `json:"diskUsed"`
	DiskTotal  uint64    `json:"diskTotal"`
}

// Metrics returns a sandbox's samples.
func (c *Client) Metrics(ctx context.Context, id string) ([]Metric, error) {
	var out []Metric
	_, err := c.do(ctx, "GET", "/sandboxes/"+url.PathEscape(id)+"/metrics", nil, &out)
	return out, err
}

// LogEntry is one line of a sandbox's log.
type LogEntry struct {
	Timestamp time.Time         `json:"timestamp"`
	Level     string            `json:"level"`
	Message   string            `json:"message"`
	Fields    map[string]string `json:"fields"`
}

// Logs returns a sandbox's log entries from start on.
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
