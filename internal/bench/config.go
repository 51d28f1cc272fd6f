package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// The measurements, by the names --only takes, in the order Run runs
// them. The baseline comes first and the cold creates right after it, so
// that the ratio of the two is taken as close together as possible; cold
// creates come before warm ones so that they do not compete with a pool
// refilling what the warm ones took.
const (
	RuntimeBaseline = "runtime_baseline"
	CreateCold      = "create_cold"
	CreateWarm      = "create_warm"
	Exec            = "exec"
	ExecAfterPause  = "exec_after_pause"
	Stdout          = "stdout"
	Files           = "files"
	AgentFiles      = "agent_files"
	APILoadName     = "api_load"
	RunLoadName     = "run_load"
	Creates         = "creates"
	Idle            = "idle"
)

// Names lists every measurement in the order Run runs them.
func Names() []string {
	return []string{RuntimeBaseline, CreateCold, CreateWarm, Exec, ExecAfterPause, Stdout, Files, AgentFiles, APILoadName, RunLoadName, Creates, Idle}
}

// Config says what to measure and how much.
type Config struct {
	// Template is the template every sandbox is created from.
	Template string
	// Iterations is the number of samples of each latency.
	Iterations int
	// Concurrency is how many creates are in flight at once while
	// measuring creates per second, and while starting idle sandboxes.
	Concurrency int
	// Duration is how long creates per second is measured.
	Duration time.Duration
	// Idle is how many idle sandboxes the memory per sandbox is taken over.
	Idle int
	// IdleMinAvailableMiB is the floor of this machine's MemAvailable
	// while idle sandboxes start: under it the bench creates no more,
	// kills what it made and reports the measurement failed, so that a
	// large --idle cannot push a shared host into its OOM killer.
	IdleMinAvailableMiB int64
	// StdoutBytes is how much a command writes to stdout for the
	// streaming rate.
	StdoutBytes int64
	// FileBytes is the size of the file uploaded and downloaded.
	FileBytes int64
	// APIRate is the requests per second the API load (and the
	// commands.run load) sends, across APISandboxes sandboxes, for
	// APIDuration.
	APIRate      int
	APISandboxes int
	APIDuration  time.Duration
	// Only selects measurements by name; empty runs them all.
	Only []string
	// TemplatesDir is the template cache on this host, where the runtime
	// baseline finds the template's root filesystem.
	TemplatesDir string
	// Progress receives a line as each measurement starts; nil discards.
	Progress io.Writer
}

// Defaults returns the configuration of a full run.
func Defaults() Config {
	return Config{
		Template:    "base",
		Iterations:  50,
		Concurrency: 16,
		Duration:    30 * time.Second,
		Idle:        50,
		// A third of this project's 24 GiB test host.
		IdleMinAvailableMiB: 8192,
		StdoutBytes:         256 << 20,
		FileBytes:           128 << 20,

		APIRate:      1000,
		APISandboxes: 50,
		APIDuration:  10 * time.Second,
	}
}

// Validate names the first field that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Template == "":
		return fmt.Errorf("template is empty")
	case c.Iterations < 1:
		return fmt.Errorf("iterations %d: use at least 1", c.Iterations)
	case c.Concurrency < 1:
		return fmt.Errorf("concurrency %d: use at least 1", c.Concurrency)
	case c.Duration <= 0:
		return fmt.Errorf("duration %v: use a positive duration such as 30s", c.Duration)
	case c.Idle < 1:
		return fmt.Errorf("idle %d: use at least 1", c.Idle)
	case c.IdleMinAvailableMiB < 0:
		return fmt.Errorf("idle memory floor %d MiB: use 0 (none) or more", c.IdleMinAvailableMiB)
	case c.StdoutBytes < 1:
		return fmt.Errorf("stdout size %d: use at least 1 byte", c.StdoutBytes)
	case c.FileBytes < 1:
		return fmt.Errorf("file size %d: use at least 1 byte", c.FileBytes)
	case c.loads() && (c.APIRate < 1 || c.APIRate > 100000):
		return fmt.Errorf("api rate %d: use 1 to 100000 requests per second", c.APIRate)
	case c.loads() && (c.APISandboxes < 1 || c.APISandboxes > 1000):
		return fmt.Errorf("api sandboxes %d: use 1 to 1000", c.APISandboxes)
	case c.loads() && c.APIDuration < time.Second:
		return fmt.Errorf("api duration %v: use at least 1s", c.APIDuration)
	}
	for _, n := range c.Only {
		if !slices.Contains(Names(), n) {
			return fmt.Errorf("measurement %q: use one of %s", n, strings.Join(Names(), ", "))
		}
	}
	return nil
}

// ParseOnly reads a comma-separated list of measurement names, as --only
// takes it.
func ParseOnly(s string) ([]string, error) {
	var out []string
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !slices.Contains(Names(), n) {
			return nil, fmt.Errorf("measurement %q: use one of %s", n, strings.Join(Names(), ", "))
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func (c Config) selected(name string) bool {
	return len(c.Only) == 0 || slices.Contains(c.Only, name)
}

// loads says whether a measurement that takes the API load's settings
// is selected.
func (c Config) loads() bool { return c.selected(APILoadName) || c.selected(RunLoadName) }
