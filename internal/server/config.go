package server

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// Config is everything `soulbox server` can be told. Zero fields take the
// defaults of Defaults; Validate says which field is wrong.
type Config struct {
	// Listen is the address of the API and the sandbox traffic proxy.
	Listen string
	// DataDir holds the database, the templates and the sandboxes.
	DataDir string
	// TemplatesDir caches built templates; default <DataDir>/templates.
	TemplatesDir string
	// Domain is the domain of sandbox hosts, <port>-<id>.<Domain>.
	Domain string
	// Runtime forces one OCI runtime (runc, crun, runsc); empty picks the
	// fastest one the host supports.
	Runtime string
	// AgentPath is the soulbox-agent binary; default next to this binary.
	AgentPath string
	// DebianMirror is where the base template's packages come from.
	DebianMirror string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// MaxSandboxes is how many sandboxes a team may run at once.
	MaxSandboxes int
	// AdminKey, when set, is the admin API key (instead of one generated
	// and written to <DataDir>/admin.key on first start).
	AdminKey string
	// PoolMin and PoolMax bound the warm pool of the default template;
	// PoolMax 0 turns the pool off.
	PoolMin, PoolMax int
	// PoolMemoryMiB bounds the memory pooled sandboxes hold; 0 means an
	// eighth of the host's memory.
	PoolMemoryMiB int
	// PoolPrewarm lists the interpreter languages pooled sandboxes start
	// ahead, comma-separated; "none" for none.
	PoolPrewarm string
	// RegistryMirrors are tried before Docker Hub when a template build
	// pulls a Docker Hub image, comma-separated URLs, as Docker's
	// registry-mirrors ("http://" ones without TLS).
	RegistryMirrors string
}

// Defaults returns the configuration the server runs with when told
// nothing: root keeps its data in /var/lib/soulbox, anyone else in the
// XDG data directory.
func Defaults() Config {
	return Config{
		Listen:       "127.0.0.1:3000",
		DataDir:      defaultDataDir(),
		Domain:       "localhost",
		DebianMirror: "http://deb.debian.org/debian",
		LogLevel:     "info",
		MaxSandboxes: 100,
		PoolMin:      1,
		PoolMax:      16,
		PoolPrewarm:  "python",
	}
}

func defaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/soulbox"
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "soulbox")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "soulbox")
	}
	return "soulbox-data"
}

// FromEnv overrides c with the SOULBOX_* environment variables that are set.
func (c Config) FromEnv(getenv func(string) string) Config {
	for _, v := range []struct {
		name string
		dst  *string
	}{
		{"SOULBOX_LISTEN", &c.Listen},
		{"SOULBOX_DATA_DIR", &c.DataDir},
		{"SOULBOX_TEMPLATES_DIR", &c.TemplatesDir},
		{"SOULBOX_DOMAIN", &c.Domain},
		{"SOULBOX_RUNTIME", &c.Runtime},
		{"SOULBOX_AGENT_PATH", &c.AgentPath},
		{"SOULBOX_DEBIAN_MIRROR", &c.DebianMirror},
		{"SOULBOX_LOG_LEVEL", &c.LogLevel},
		{"SOULBOX_ADMIN_KEY", &c.AdminKey},
		{"SOULBOX_POOL_PREWARM", &c.PoolPrewarm},
		{"SOULBOX_REGISTRY_MIRRORS", &c.RegistryMirrors},
	} {
		if s := getenv(v.name); s != "" {
			*v.dst = s
		}
	}
	for _, v := range []struct {
		name string
		dst  *int
	}{
		{"SOULBOX_MAX_SANDBOXES", &c.MaxSandboxes},
		{"SOULBOX_POOL_MIN", &c.PoolMin},
		{"SOULBOX_POOL_MAX", &c.PoolMax},
		{"SOULBOX_POOL_MEMORY_MIB", &c.PoolMemoryMiB},
	} {
		if s := getenv(v.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				n = -1 // Validate names it
			}
			*v.dst = n
		}
	}
	return c
}

// Validate checks every field and names the first wrong one.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf(format+": %w", append(args, errdefs.ErrInvalidArgument)...)
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return bad("listen address %q: want host:port, e.g. 127.0.0.1:3000", c.Listen)
	}
	if c.DataDir == "" {
		return bad("data dir is empty")
	}
	if c.Domain == "" || strings.ContainsAny(c.Domain, "/: ") {
		return bad("domain %q: want a DNS name such as localhost or sandbox.example.com", c.Domain)
	}
	switch c.Runtime {
	case "", "runc", "crun", "runsc":
	default:
		return bad("runtime %q: want runc, crun or runsc (or nothing to choose automatically)", c.Runtime)
	}
	for _, m := range c.registryMirrors() {
		if !strings.HasPrefix(m, "http://") && !strings.HasPrefix(m, "https://") {
			return bad("registry mirror %q: want an http:// or https:// URL", m)
		}
	}
	if !strings.HasPrefix(c.DebianMirror, "http://") && !strings.HasPrefix(c.DebianMirror, "https://") {
		return bad("debian mirror %q: want an http:// or https:// URL", c.DebianMirror)
	}
	if c.MaxSandboxes < 1 || c.MaxSandboxes > 100000 {
		return bad("max sandboxes %d: use 1 to 100000", c.MaxSandboxes)
	}
	if c.PoolMin < 0 || c.PoolMax < 0 || (c.PoolMax > 0 && c.PoolMin > c.PoolMax) || c.PoolMax > 10000 {
		return bad("pool size %d..%d: want 0 <= min <= max <= 10000 (max 0 turns the pool off)", c.PoolMin, c.PoolMax)
	}
	if c.PoolMemoryMiB < 0 {
		return bad("pool memory %d MiB: use 0 (an eighth of the host's memory) or more", c.PoolMemoryMiB)
	}
	for _, lang := range c.prewarm() {
		switch lang {
		case "python", "javascript", "bash":
		default:
			return bad("pool prewarm %q: want a comma-separated list of python, javascript, bash, or none", lang)
		}
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return bad("log level %q: want debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// prewarm is PoolPrewarm as a list.
func (c Config) prewarm() []string {
	var out []string
	for _, lang := range strings.Split(c.PoolPrewarm, ",") {
		if lang = strings.TrimSpace(lang); lang != "" && lang != "none" {
			out = append(out, lang)
		}
	}
	return out
}

// Level is the parsed LogLevel; call after Validate.
func (c Config) Level() slog.Level {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel))
	return lvl
}

func (c Config) templatesDir() string {
	if c.TemplatesDir != "" {
		return c.TemplatesDir
	}
	return filepath.Join(c.DataDir, "templates")
}

// poolMemoryMiB is PoolMemoryMiB, or an eighth of the host's memory.
func (c Config) poolMemoryMiB() int {
	if c.PoolMemoryMiB > 0 {
		return c.PoolMemoryMiB
	}
	var info unix.Sysinfo_t
	if err := unix.Sysinfo(&info); err != nil {
		return 1024
	}
	return int(uint64(info.Totalram) * uint64(info.Unit) >> 20 / 8)
}
