package client

import (
	"context"
	"io"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// The template types are the SDK's (sdk/go/soulbox/templates.go).
type (
	TemplateStep        = soulbox.TemplateStep
	TemplateBuildSpec   = soulbox.TemplateBuildSpec
	TemplateBuildRef    = soulbox.TemplateBuildRef
	BuildLogEntry       = soulbox.BuildLogEntry
	TemplateBuildStatus = soulbox.TemplateBuildStatus
	Template            = soulbox.Template
	TemplateBuild       = soulbox.TemplateBuild
	TemplateDetail      = soulbox.TemplateDetail
)

// RequestTemplateBuild is POST /v3/templates.
func (c *Client) RequestTemplateBuild(ctx context.Context, name string, tags []string) (TemplateBuildRef, error) {
	api, err := c.api()
	if err != nil {
		return TemplateBuildRef{}, err
	}
	return api.RequestTemplateBuild(ctx, name, tags)
}

// TemplateFiles asks whether the files of hash are cached, and if not
// where to upload them.
func (c *Client) TemplateFiles(ctx context.Context, templateID, hash string) (present bool, uploadURL string, err error) {
	api, err := c.api()
	if err != nil {
		return false, "", err
	}
	return api.TemplateFiles(ctx, templateID, hash)
}

// UploadTemplateFiles PUTs a tar archive to an upload URL.
func (c *Client) UploadTemplateFiles(ctx context.Context, uploadURL string, body io.Reader, size int64) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	return api.UploadTemplateFiles(ctx, uploadURL, body, size)
}

// StartTemplateBuild is POST /v2/templates/{id}/builds/{buildID}.
func (c *Client) StartTemplateBuild(ctx context.Context, templateID, buildID string, spec TemplateBuildSpec) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	return api.StartTemplateBuild(ctx, templateID, buildID, spec)
}

// TemplateBuildStatus is GET .../status from logsOffset.
func (c *Client) TemplateBuildStatus(ctx context.Context, templateID, buildID string, logsOffset int) (TemplateBuildStatus, error) {
	api, err := c.api()
	if err != nil {
		return TemplateBuildStatus{}, err
	}
	return api.TemplateBuildStatus(ctx, templateID, buildID, logsOffset)
}

// ListTemplates is GET /templates.
func (c *Client) ListTemplates(ctx context.Context) ([]Template, error) {
	api, err := c.api()
	if err != nil {
		return nil, err
	}
	return api.ListTemplates(ctx)
}

// GetTemplate is GET /templates/{id} (an id or a name).
func (c *Client) GetTemplate(ctx context.Context, idOrName string) (TemplateDetail, error) {
	api, err := c.api()
	if err != nil {
		return TemplateDetail{}, err
	}
	return api.GetTemplate(ctx, idOrName)
}

// DeleteTemplate is DELETE /templates/{id} (an id or a name).
func (c *Client) DeleteTemplate(ctx context.Context, idOrName string) error {
	api, err := c.api()
	if err != nil {
		return err
	}
	return api.DeleteTemplate(ctx, idOrName)
}

// AssignTemplateTags is POST /templates/tags: tags point at the build
// target ("name" or "name:tag") names. It returns that build's id.
func (c *Client) AssignTemplateTags(ctx context.Context, target string, tags []string) (string, error) {
	api, err := c.api()
	if err != nil {
		return "", err
	}
	return api.AssignTemplateTags(ctx, target, tags)
}
