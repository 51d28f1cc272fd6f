package server

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/catalog"
)

// TemplateLimits bound what teams may ask of the template build API and
// where builds may pull from. A zero field takes its default.
type TemplateLimits struct {
	// MaxUploadMB bounds one uploaded build-files archive as sent
	// (SOULBOX_TEMPLATE_MAX_UPLOAD_MB); larger is answered 413.
	MaxUploadMB int
	// MaxFilesMB bounds what one uploaded archive unpacks to: a COPY
	// step's files (SOULBOX_TEMPLATE_MAX_FILES_MB); more is answered 413.
	MaxFilesMB int
	// MaxUploadURLs bounds the upload URLs a team holds unused at once
	// (SOULBOX_TEMPLATE_MAX_UPLOAD_URLS); more is answered 429.
	MaxUploadURLs int
	// FilesQuotaMB bounds the uploaded build-files archives one team
	// keeps stored (SOULBOX_TEMPLATE_FILES_QUOTA_MB); more is answered
	// 429.
	FilesQuotaMB int
	// MaxLayerMB bounds one image layer, uncompressed, as a build unpacks
	// it (SOULBOX_TEMPLATE_MAX_LAYER_MB); a larger one fails the build.
	MaxLayerMB int
	// PoolTeamMax is the most sandboxes a key that is not an admin key
	// may pool over all its team's templates together, the sum of their
	// pool maxima (SOULBOX_TEMPLATE_POOL_TEAM_MAX); -1 leaves pools to
	// admin keys.
	PoolTeamMax int
	// RegistryAllowNets are private or reserved ranges (comma-separated
	// CIDRs) a registry named by fromImage may be at all the same
	// (SOULBOX_REGISTRY_ALLOW_NETS). Builds reach no other such address;
	// the registry mirrors are the operator's and always allowed.
	RegistryAllowNets string
}

// defaultTemplateLimits are catalog's and builder's defaults, in MiB.
func defaultTemplateLimits() TemplateLimits {
	d := catalog.DefaultLimits()
	return TemplateLimits{MaxUploadMB: int(d.MaxUploadBytes >> 20), MaxFilesMB: int(d.MaxFilesBytes >> 20),
		MaxUploadURLs: d.MaxUploadTokens, MaxLayerMB: builder.DefaultMaxLayerBytes >> 20, PoolTeamMax: d.PoolTeamMax,
		FilesQuotaMB: int(d.FilesQuotaBytes >> 20)}
}

func (l TemplateLimits) fromEnv(getenv func(string) string) TemplateLimits {
	for _, v := range []struct {
		name string
		dst  *int
	}{
		{"SOULBOX_TEMPLATE_MAX_UPLOAD_MB", &l.MaxUploadMB},
		{"SOULBOX_TEMPLATE_MAX_FILES_MB", &l.MaxFilesMB},
		{"SOULBOX_TEMPLATE_MAX_UPLOAD_URLS", &l.MaxUploadURLs},
		{"SOULBOX_TEMPLATE_MAX_LAYER_MB", &l.MaxLayerMB},
		{"SOULBOX_TEMPLATE_FILES_QUOTA_MB", &l.FilesQuotaMB},
		{"SOULBOX_TEMPLATE_POOL_TEAM_MAX", &l.PoolTeamMax},
	} {
		if s := getenv(v.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				n = -2 // validate names it
			}
			*v.dst = n
		}
	}
	if s := getenv("SOULBOX_REGISTRY_ALLOW_NETS"); s != "" {
		l.RegistryAllowNets = s
	}
	return l
}

// allowNets parses RegistryAllowNets.
func (l TemplateLimits) allowNets() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(l.RegistryAllowNets, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("registry allow nets: %q is not a CIDR such as 10.0.0.0/8", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (l TemplateLimits) validate() error {
	for _, v := range []struct {
		name string
		n    int
	}{
		{"template max upload MB", l.MaxUploadMB}, {"template max files MB", l.MaxFilesMB},
		{"template max upload URLs", l.MaxUploadURLs}, {"template max layer MB", l.MaxLayerMB},
		{"template files quota MB", l.FilesQuotaMB},
	} {
		if v.n < 0 || v.n > 1<<30 {
			return fmt.Errorf("%s %d: use 1 to %d (0 for the default)", v.name, v.n, 1<<30)
		}
	}
	if l.PoolTeamMax < -1 || l.PoolTeamMax > 10000 {
		return fmt.Errorf("template pool team max %d: use -1 (admin keys only) to 10000", l.PoolTeamMax)
	}
	_, err := l.allowNets()
	return err
}

// catalogLimits are the limits as the catalog takes them.
func (l TemplateLimits) catalogLimits() catalog.Limits {
	return catalog.Limits{MaxUploadBytes: int64(l.MaxUploadMB) << 20, MaxFilesBytes: int64(l.MaxFilesMB) << 20,
		MaxUploadTokens: l.MaxUploadURLs, PoolTeamMax: l.PoolTeamMax, FilesQuotaBytes: int64(l.FilesQuotaMB) << 20}
}
