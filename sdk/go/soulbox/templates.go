package soulbox

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Templates: E2B's template build API (the SDK's Template builder and
// `e2b template build` speak it), for building templates from Go.

// TemplateStep is one step of a template build, as E2B's TemplateStep.
type TemplateStep struct {
	Type      string   `json:"type"`
	Args      []string `json:"args"`
	FilesHash string   `json:"filesHash,omitempty"`
	Force     bool     `json:"force,omitempty"`
}

// TemplateBuildSpec is E2B's TemplateBuildStartV2.
type TemplateBuildSpec struct {
	FromImage    string         `json:"fromImage,omitempty"`
	FromTemplate string         `json:"fromTemplate,omitempty"`
	Force        bool           `json:"force,omitempty"`
	Steps        []TemplateStep `json:"steps"`
	StartCmd     string         `json:"startCmd,omitempty"`
	ReadyCmd     string         `json:"readyCmd,omitempty"`
}

// TemplateBuildRef names a requested build.
type TemplateBuildRef struct {
	TemplateID string   `json:"templateID"`
	BuildID    string   `json:"buildID"`
	Names      []string `json:"names"`
	Tags       []string `json:"tags"`
}

// BuildLogEntry is one line of a build's log.
type BuildLogEntry struct {
	Timestamp time.Time `json:"timestamp"`
	Message   string    `json:"message"`
	Level     string    `json:"level"`
	Step      string    `json:"step,omitempty"`
}

// TemplateBuildStatus is E2B's TemplateBuildInfo.
type TemplateBuildStatus struct {
	TemplateID string          `json:"templateID"`
	BuildID    string          `json:"buildID"`
	Status     string          `json:"status"`
	LogEntries []BuildLogEntry `json:"logEntries"`
	Reason     *struct {
		Message string `json:"message"`
		Step    string `json:"step,omitempty"`
	} `json:"reason,omitempty"`
}

// RequestTemplateBuild is POST /v3/templates.
func (c *Client) RequestTemplateBuild(ctx context.Context, name string, tags []string) (TemplateBuildRef, error) {
	var out TemplateBuildRef
	_, err := c.do(ctx, http.MethodPost, "/v3/templates", map[string]any{"name": name, "tags": tags}, &out)
	return out, err
}

// TemplateFiles asks whether the files of hash are cached, and if not
// where to upload them.
func (c *Client) TemplateFiles(ctx context.Context, templateID, hash string) (present bool, uploadURL string, err error) {
	var out struct {
		Present bool   `json:"present"`
		URL     string `json:"url"`
	}
	_, err = c.do(ctx, http.MethodGet, "/templates/"+url.PathEscape(templateID)+"/files/"+url.PathEscape(hash), nil, &out)
	return out.Present, out.URL, err
}

// UploadTemplateFiles PUTs a tar archive to an upload URL.
func (c *Client) UploadTemplateFiles(ctx context.Context, uploadURL string, body io.Reader, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, uploadURL, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("upload template files: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return httpError(resp.StatusCode, resp.Header, b)
	}
	return nil
}

// StartTemplateBuild is POST /v2/templates/{id}/builds/{buildID}.
func (c *Client) StartTemplateBuild(ctx context.Context, templateID, buildID string, spec TemplateBuildSpec) error {
	_, err := c.do(ctx, http.MethodPost, "/v2/templates/"+url.PathEscape(templateID)+"/builds/"+url.PathEscape(buildID), spec, nil)
	return err
}

// TemplateBuildStatus is GET .../status from logsOffset.
func (c *Client) TemplateBuildStatus(ctx context.Context, templateID, buildID string, logsOffset int) (TemplateBuildStatus, error) {
	var out TemplateBuildStatus
	_, err := c.do(ctx, http.MethodGet, fmt.Sprintf("/templates/%s/builds/%s/status?logsOffset=%d",
		url.PathEscape(templateID), url.PathEscape(buildID), logsOffset), nil, &out)
	return out, err
}

// Template is a template as GET /templates lists it.
type Template struct {
	TemplateID  string    `json:"templateID"`
	BuildID     string    `json:"buildID"`
	Names       []string  `json:"names"`
	Public      bool      `json:"public"`
	CPUCount    int       `json:"cpuCount"`
	MemoryMB    int       `json:"memoryMB"`
	BuildCount  int       `json:"buildCount"`
	BuildStatus string    `json:"buildStatus"`
	SizeBytes   int64     `json:"sizeBytes"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// TemplateBuild is one build as GET /templates/{id} lists it.
type TemplateBuild struct {
	BuildID    string     `json:"buildID"`
	Status     string     `json:"status"`
	Reason     string     `json:"reason,omitempty"`
	SizeBytes  int64      `json:"sizeBytes"`
	CreatedAt  time.Time  `json:"createdAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}

// TemplateDetail is GET /templates/{id}.
type TemplateDetail struct {
	TemplateID string          `json:"templateID"`
	Names      []string        `json:"names"`
	Public     bool            `json:"public"`
	SizeBytes  int64           `json:"sizeBytes"`
	CreatedAt  time.Time       `json:"createdAt"`
	UpdatedAt  time.Time       `json:"updatedAt"`
	Builds     []TemplateBuild `json:"builds"`
}

// ListTemplates is GET /templates.
func (c *Client) ListTemplates(ctx context.Context) ([]Template, error) {
	var out []Template
	_, err := c.do(ctx, http.MethodGet, "/templates", nil, &out)
	return out, err
}

// GetTemplate is GET /templates/{id} (an id or a name).
func (c *Client) GetTemplate(ctx context.Context, idOrName string) (TemplateDetail, error) {
	var out TemplateDetail
	_, err := c.do(ctx, http.MethodGet, "/templates/"+url.PathEscape(idOrName), nil, &out)
	return out, err
}

// DeleteTemplate is DELETE /templates/{id} (an id or a name).
func (c *Client) DeleteTemplate(ctx context.Context, idOrName string) error {
	_, err := c.do(ctx, http.MethodDelete, "/templates/"+url.PathEscape(idOrName), nil, nil)
	return err
}

// AssignTemplateTags is POST /templates/tags: tags point at the build
// target ("name" or "name:tag") names. It returns that build's id.
func (c *Client) AssignTemplateTags(ctx context.Context, target string, tags []string) (string, error) {
	var out struct {
		BuildID string `json:"buildID"`
	}
	_, err := c.do(ctx, http.MethodPost, "/templates/tags", map[string]any{"target": target, "tags": tags}, &out)
	return out.BuildID, err
}
