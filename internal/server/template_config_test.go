package server

import (
	"strings"
	"testing"
)

// The template limits come from the environment, default when unset, and
// a wrong one is named by Validate.
func TestTemplateLimitsConfig(t *testing.T) {
	env := map[string]string{
		"SOULBOX_TEMPLATE_MAX_UPLOAD_MB": "10", "SOULBOX_TEMPLATE_POOL_TEAM_MAX": "-1",
		"SOULBOX_REGISTRY_ALLOW_NETS": "10.1.0.0/16, 127.0.0.1/32", "SOULBOX_TEMPLATE_FILES_QUOTA_MB": "512",
	}
	c := Defaults().FromEnv(func(k string) string { return env[k] })
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	l := c.TemplateLimits.catalogLimits()
	if l.MaxUploadBytes != 10<<20 || l.PoolTeamMax != -1 || l.MaxUploadTokens != 64 || l.MaxFilesBytes != 4<<30 || l.FilesQuotaBytes != 512<<20 {
		t.Errorf("limits %+v", l)
	}
	if nets, _ := c.TemplateLimits.allowNets(); len(nets) != 2 || nets[0].String() != "10.1.0.0/16" {
		t.Errorf("allow nets %v", nets)
	}
	for k, v := range map[string]string{
		"SOULBOX_REGISTRY_ALLOW_NETS":      "10.0.0.0",
		"SOULBOX_TEMPLATE_MAX_LAYER_MB":    "lots",
		"SOULBOX_TEMPLATE_POOL_TEAM_MAX":   "-5",
		"SOULBOX_TEMPLATE_MAX_UPLOAD_URLS": "-1",
		"SOULBOX_TEMPLATE_FILES_QUOTA_MB":  "-3",
	} {
		c := Defaults().FromEnv(func(key string) string {
			if key == k {
				return v
			}
			return ""
		})
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "template") && !strings.Contains(err.Error(), "registry") {
			t.Errorf("%s=%s: %v, want it named", k, v, err)
		}
	}
}
