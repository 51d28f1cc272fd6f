package server

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*Config)
		ok     bool
	}{
		{"defaults", func(*Config) {}, true},
		{"listen without port", func(c *Config) { c.Listen = "127.0.0.1" }, false},
		{"empty data dir", func(c *Config) { c.DataDir = "" }, false},
		{"domain with scheme", func(c *Config) { c.Domain = "http://x" }, false},
		{"unknown runtime", func(c *Config) { c.Runtime = "docker" }, false},
		{"crun", func(c *Config) { c.Runtime = "crun" }, true},
		{"mirror without scheme", func(c *Config) { c.DebianMirror = "deb.debian.org" }, false},
		{"log level", func(c *Config) { c.LogLevel = "loud" }, false},
		{"debug", func(c *Config) { c.LogLevel = "debug" }, true},
		{"pool templates", func(c *Config) { c.PoolTemplates = "py=1:4, node=0:2" }, true},
		{"pool templates without bounds", func(c *Config) { c.PoolTemplates = "py" }, false},
		{"pool templates without name", func(c *Config) { c.PoolTemplates = "=1:2" }, false},
		{"pool templates min above max", func(c *Config) { c.PoolTemplates = "py=3:1" }, false},
		{"pool templates not numbers", func(c *Config) { c.PoolTemplates = "py=a:b" }, false},
		{"pool default", func(c *Config) { c.PoolDefault = "0:2" }, true},
		{"pool default one number", func(c *Config) { c.PoolDefault = "2" }, false},
		{"pool default negative", func(c *Config) { c.PoolDefault = "-1:2" }, false},
		{"metrics retention of a week", func(c *Config) { c.MetricsRetention = 7 * 24 * time.Hour }, true},
		{"metrics retention of a second", func(c *Config) { c.MetricsRetention = time.Second }, false},
		{"metrics retention of 31 days", func(c *Config) { c.MetricsRetention = 31 * 24 * time.Hour }, true},
		{"metrics retention past 31 days", func(c *Config) { c.MetricsRetention = 32 * 24 * time.Hour }, false},
		{"metrics bucket of half a second", func(c *Config) { c.MetricsBucket = 500 * time.Millisecond }, false},
		{"metrics bucket of 90 s", func(c *Config) { c.MetricsBucket = 90 * time.Second }, true},
		{"metrics downsampled after the retention", func(c *Config) { c.MetricsDownsampleAfter = 48 * time.Hour }, false},
		{"metrics downsampled before a bucket", func(c *Config) { c.MetricsDownsampleAfter = time.Second }, false},
		{"paused disk budget", func(c *Config) { c.PausedDiskMB = 10240 }, true},
		{"paused disk budget negative", func(c *Config) { c.PausedDiskMB = -1 }, false},
		{"sandbox state disk budget", func(c *Config) { c.SandboxStateDiskMB = 512 }, true},
		{"sandbox state disk budget negative", func(c *Config) { c.SandboxStateDiskMB = -1 }, false},
		{"snapshot disk budget negative", func(c *Config) { c.SnapshotDiskMB = -1 }, false},
		{"dashboard listen", func(c *Config) { c.DashboardListen = "127.0.0.1:3001" }, true},
		{"dashboard listen without port", func(c *Config) { c.DashboardListen = "127.0.0.1" }, false},
		{"node lease of 10 s over a 3 s heartbeat timeout", func(c *Config) { c.NodeHeartbeatTimeout, c.NodeLease = 3*time.Second, 10*time.Second }, true},
		{"node lease equal to the heartbeat timeout", func(c *Config) { c.NodeLease = c.NodeHeartbeatTimeout }, false},
		{"node lease shorter than the heartbeat timeout", func(c *Config) { c.NodeLease = 5 * time.Second }, false},
		{"node lease past a day", func(c *Config) { c.NodeLease = 25 * time.Hour }, false},
		{"node heartbeat timeout past the default lease", func(c *Config) { c.NodeHeartbeatTimeout = 2 * time.Minute }, false},
		{"node listen names", func(c *Config) { c.NodeListenNames = "soulbox-nodes.soulbox.svc, 10.0.0.7,::1" }, true},
		{"node listen name with a space", func(c *Config) { c.NodeListenNames = "soulbox nodes" }, false},
		{"node listen name wildcard", func(c *Config) { c.NodeListenNames = "*.soulbox.svc" }, false},
		{"node listen names with an empty one", func(c *Config) { c.NodeListenNames = "a.example,,b.example" }, false},
		{"node listen name label past 63", func(c *Config) { c.NodeListenNames = strings.Repeat("a", 64) + ".example" }, false},
		{"node certificates living 9 s over a 3 s heartbeat timeout", func(c *Config) { c.NodeHeartbeatTimeout, c.NodeCertLifetime = 3*time.Second, 9*time.Second }, true},
		{"node certificates living less than three heartbeat timeouts", func(c *Config) { c.NodeCertLifetime = 44 * time.Second }, false},
		{"node certificates living past ten years", func(c *Config) { c.NodeCertLifetime = 87601 * time.Hour }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			tc.modify(&c)
			err := c.Validate()
			if tc.ok != (err == nil) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("error %v is not ErrInvalidArgument", err)
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"SOULBOX_LISTEN": "0.0.0.0:8080", "SOULBOX_DATA_DIR": "/srv/sb", "SOULBOX_RUNTIME": "runc",
		"SOULBOX_POOL_TEMPLATES": "py=1:4", "SOULBOX_POOL_DEFAULT": "0:2", "SOULBOX_PAUSED_DISK_MB": "2048", "SOULBOX_SANDBOX_STATE_DISK_MB": "300"}
	c := Defaults().FromEnv(func(k string) string { return env[k] })
	if c.PausedDiskMB != 2048 {
		t.Errorf("paused disk budget from env: %d", c.PausedDiskMB)
	}
	if c.SandboxStateDiskMB != 300 {
		t.Errorf("sandbox state disk budget from env: %d", c.SandboxStateDiskMB)
	}
	if c.PoolTemplates != "py=1:4" || c.PoolDefault != "0:2" {
		t.Errorf("pool from env: %q %q", c.PoolTemplates, c.PoolDefault)
	}
	if c.Listen != "0.0.0.0:8080" || c.DataDir != "/srv/sb" || c.Runtime != "runc" || c.Domain != "localhost" {
		t.Errorf("FromEnv: %+v", c)
	}
	if got := c.templatesDir(); got != "/srv/sb/templates" {
		t.Errorf("templatesDir = %q", got)
	}
	c = Defaults().FromEnv(func(k string) string {
		return map[string]string{"SOULBOX_METRICS_RETENTION": "48h", "SOULBOX_METRICS_BUCKET": "30s", "SOULBOX_METRICS_DOWNSAMPLE_AFTER": "soon"}[k]
	})
	if c.MetricsRetention != 48*time.Hour || c.MetricsBucket != 30*time.Second || c.Validate() == nil {
		t.Errorf("metrics history from env: %s %s, and a bad downsample age accepted: %v", c.MetricsRetention, c.MetricsBucket, c.Validate())
	}
}
