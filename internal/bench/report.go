package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the result of a run. A measurement that was not selected,
// was skipped or failed is null; Skipped and Errors say why.
type Report struct {
	Server     string    `json:"server"`
	Template   string    `json:"template"`
	StartedAt  time.Time `json:"started_at"`
	Iterations int       `json:"iterations"`
	Machine    Machine   `json:"machine"`

	// CreateWarmMs is from sending a create request to the end of the
	// first command (echo hi, through the server's proxy, as the SDKs run
	// commands) in the new sandbox, taking from the warm pool if the
	// server has one; CreateColdMs is the same with the pool bypassed.
	CreateWarmMs *Percentiles `json:"create_warm_ms"`
	CreateColdMs *Percentiles `json:"create_cold_ms"`
	// RuntimeBaselineMs is the raw OCI runtime running /bin/true in the
	// template's root filesystem on this machine, in the same run.
	RuntimeBaselineMs *Percentiles `json:"runtime_baseline_ms"`
	// ColdOverBaseline is the median cold create over the median baseline:
	// the machine's speed cancels out of it, SoulBox's overhead does not.
	ColdOverBaseline *float64 `json:"cold_over_baseline"`
	// ExecMs is the round trip of echo hi in a running sandbox.
	ExecMs *Percentiles `json:"exec_ms"`
	// ExecAfterPauseMs is the same after the sandbox was left alone for
	// execPause, as an agent's commands usually are apart.
	ExecAfterPauseMs *Percentiles `json:"exec_after_pause_ms"`

	// Rates are in MB/s, MB being 10^6 bytes, as counted by the client.
	StdoutMBPerSec    *float64 `json:"stdout_mb_per_sec"`
	StdoutBytes       int64    `json:"stdout_bytes"`
	FileWriteMBPerSec *float64 `json:"file_write_mb_per_sec"`
	FileReadMBPerSec  *float64 `json:"file_read_mb_per_sec"`
	FileBytes         int64    `json:"file_bytes"`

	// The agent's file paths as the e2b SDK drives them (agent_files):
	// a 50 MB multipart upload's rate (median of 3), the latency of 1 KiB
	// writes and reads, and the time from the start of a 1 KiB write to
	// its write event at a client watching the directory.
	AgentUploadMBPerSec *float64     `json:"agent_upload_50mb_mb_per_sec"`
	AgentWrite1KiBMs    *Percentiles `json:"agent_write_1kib_ms"`
	AgentRead1KiBMs     *Percentiles `json:"agent_read_1kib_ms"`
	AgentWatchEventMs   *Percentiles `json:"agent_watch_event_ms"`

	// APILoad is the mixed load of API calls (api_load).
	APILoad *APILoad `json:"api_load"`
	// RunLoad is commands.run alone across sandboxes (run_load).
	RunLoad *APILoad `json:"run_load"`

	// CreatesPerSec is the sustained rate of create and kill pairs that
	// succeeded; CreatesRun says how it was measured and what failed.
	CreatesPerSec *float64    `json:"creates_per_sec"`
	CreatesRun    *CreatesRun `json:"creates"`

	IdleMiBPerSandbox *IdleMemory `json:"idle_mib_per_sandbox"`

	// Skipped maps a measurement that could not run here to the reason.
	Skipped map[string]string `json:"skipped"`
	// Errors are the failures met, one entry per measurement.
	Errors []Failure `json:"errors"`
}

// CreatesRun is how creates per second was measured.
type CreatesRun struct {
	Concurrency int     `json:"concurrency"`
	DurationSec float64 `json:"duration_s"`
	Created     int     `json:"created"`
	Errors      int     `json:"errors"`
}

// IdleMemory is what an idle sandbox costs, in MiB per sandbox.
type IdleMemory struct {
	Sandboxes int `json:"sandboxes"`
	// CreateAllSec is the time to create them all, Concurrency at once;
	// KillAllSec the time to kill them all.
	CreateAllSec float64 `json:"create_all_s"`
	KillAllSec   float64 `json:"kill_all_s"`
	// Answered is how many ran a command (true) through the proxy once
	// all of them existed.
	Answered int `json:"answered"`
	// ProcessRSS is the mean of the summed resident memory of each
	// sandbox's processes (its agent and anything it runs), read from
	// /proc: only when the bench runs on the server's host.
	ProcessRSS float64 `json:"process_rss_if_bench_on_server_host"`
	// ProcessPSS is the same with each shared page divided among the
	// processes sharing it: what the processes add up to on the host.
	ProcessPSS float64 `json:"process_pss_if_bench_on_server_host"`
	// Leftovers lists what the killed sandboxes still held on this host
	// (processes, cgroups, mounts, network links, loop devices): empty
	// when they left nothing.
	Leftovers []string `json:"leftovers_if_bench_on_server_host"`
	// CgroupMemUsed is the mean of the sandboxes' memory use as the
	// server's metrics API reports it (their cgroups, less page cache).
	CgroupMemUsed float64 `json:"cgroup_mem_used"`
	// HostMemAvailableDrop is how far MemAvailable of the machine the
	// bench runs on fell while the sandboxes started, over their number:
	// everything they cost the host (runtime, kernel, caches), but only
	// meaningful when the bench runs on the server's host, as its name
	// says.
	HostMemAvailableDrop float64 `json:"host_mem_available_drop_if_bench_on_server_host"`
}

// Failure counts the errors of one measurement and keeps the first.
type Failure struct {
	Measurement string `json:"measurement"`
	Count       int    `json:"count"`
	Message     string `json:"message"`
}

// Machine describes the machine the bench ran on, and the server as it
// describes itself.
type Machine struct {
	CPUs           int    `json:"cpus"`
	MemoryMiB      int64  `json:"memory_mib"`
	Kernel         string `json:"kernel"`
	CgroupVersion  string `json:"cgroup_version"`
	Runtime        string `json:"runtime"`
	RuntimeVersion string `json:"runtime_version"`
	ServerVersion  string `json:"server_version"`
	ServerRuntime  string `json:"server_runtime"`
}

func newReport(cfg Config, server string) *Report {
	return &Report{
		Server: server, Template: cfg.Template, StartedAt: time.Now().UTC().Truncate(time.Second),
		Iterations: cfg.Iterations, Skipped: map[string]string{}, Errors: []Failure{},
	}
}

// finish derives what is computed from other fields.
func (r *Report) finish() {
	if r.CreateColdMs != nil && r.RuntimeBaselineMs != nil && r.RuntimeBaselineMs.P50 > 0 {
		ratio := roundTo(r.CreateColdMs.P50/r.RuntimeBaselineMs.P50, 2)
		r.ColdOverBaseline = &ratio
	}
}

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report for people: the medians first, then the
// details of each measurement that ran.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "SoulBox bench of %s (server %s, %s), template %s\n", r.Server, orUnknown(m.ServerVersion), orUnknown(m.ServerRuntime), r.Template)
	fmt.Fprintf(&b, "this machine: %d CPUs, %.1f GiB, Linux %s, cgroup %s, %s\n",
		m.CPUs, float64(m.MemoryMiB)/1024, orUnknown(m.Kernel), orUnknown(m.CgroupVersion),
		strings.TrimSpace(orUnknown(m.Runtime)+" "+m.RuntimeVersion))
	if med := r.medians(); med != "" {
		fmt.Fprintf(&b, "\nmedians: %s\n", med)
	}

	lat := []struct {
		name string
		p    *Percentiles
	}{
		{"create + first command, pool", r.CreateWarmMs},
		{"create + first command, no pool", r.CreateColdMs},
		{"runtime baseline, " + baselineName(m.Runtime), r.RuntimeBaselineMs},
		{"exec echo hi", r.ExecMs},
		{"exec echo hi after a 1 s pause", r.ExecAfterPauseMs},
		{"agent: write 1 KiB", r.AgentWrite1KiBMs},
		{"agent: read 1 KiB", r.AgentRead1KiBMs},
		{"agent: write 1 KiB to its watch event", r.AgentWatchEventMs},
	}
	width := len("latency, ms")
	for _, l := range lat {
		if l.p != nil {
			width = max(width, len(l.name))
		}
	}
	header := false
	for _, l := range lat {
		if l.p == nil {
			continue
		}
		if !header {
			fmt.Fprintf(&b, "\n%-*s  %8s %8s %8s %5s\n", width, "latency, ms", "p50", "p95", "p99", "n")
			header = true
		}
		fmt.Fprintf(&b, "%-*s  %8.1f %8.1f %8.1f %5d\n", width, l.name, l.p.P50, l.p.P95, l.p.P99, l.p.N)
	}

	var rows [][2]string
	if r.StdoutMBPerSec != nil {
		rows = append(rows, [2]string{"stdout stream", fmt.Sprintf("%.1f MB/s (%s)", *r.StdoutMBPerSec, mib(r.StdoutBytes))})
	}
	if r.FileWriteMBPerSec != nil {
		rows = append(rows, [2]string{"file write", fmt.Sprintf("%.1f MB/s (%s)", *r.FileWriteMBPerSec, mib(r.FileBytes))})
	}
	if r.FileReadMBPerSec != nil {
		rows = append(rows, [2]string{"file read", fmt.Sprintf("%.1f MB/s (%s)", *r.FileReadMBPerSec, mib(r.FileBytes))})
	}
	if r.AgentUploadMBPerSec != nil {
		rows = append(rows, [2]string{"agent: upload 50 MB (multipart)", fmt.Sprintf("%.1f MB/s", *r.AgentUploadMBPerSec)})
	}
	rows = append(rows, r.APILoad.rows("API load")...)
	rows = append(rows, r.RunLoad.rows("commands.run load")...)
	if c := r.CreatesRun; r.CreatesPerSec != nil && c != nil {
		rows = append(rows, [2]string{"creates per second", fmt.Sprintf("%.1f (create and kill, %d at once for %.0fs: %d created, %d errors)",
			*r.CreatesPerSec, c.Concurrency, c.DurationSec, c.Created, c.Errors)})
	}
	if i := r.IdleMiBPerSandbox; i != nil {
		rows = append(rows, [2]string{"idle memory per sandbox", fmt.Sprintf("%.1f MiB in its cgroup; its processes' RSS %.1f MiB, PSS %.1f MiB; %.1f MiB of host MemAvailable (these three only valid if the bench ran on the server's host); over %d sandboxes",
			i.CgroupMemUsed, i.ProcessRSS, i.ProcessPSS, i.HostMemAvailableDrop, i.Sandboxes)})
		left := "none"
		if len(i.Leftovers) > 0 {
			left = strings.Join(i.Leftovers, ", ")
		}
		rows = append(rows, [2]string{"idle sandboxes", fmt.Sprintf("%d created in %.1f s, %d answered a command, killed in %.1f s; left on this host: %s",
			i.Sandboxes, i.CreateAllSec, i.Answered, i.KillAllSec, left)})
	}
	writeRows(&b, rows)

	var notes [][2]string
	for _, n := range Names() {
		if why, ok := r.Skipped[n]; ok {
			notes = append(notes, [2]string{"skipped " + n, why})
		}
	}
	for _, f := range r.Errors {
		notes = append(notes, [2]string{"ERRORS " + f.Measurement, fmt.Sprintf("%d, the first: %s", f.Count, f.Message)})
	}
	writeRows(&b, notes)
	_, err := io.WriteString(w, b.String())
	return err
}

// medians is the one line people read: each median, and the ratio that
// survives a change of machine.
func (r *Report) medians() string {
	var parts []string
	if r.CreateColdMs != nil {
		parts = append(parts, fmt.Sprintf("create cold %.1f ms", r.CreateColdMs.P50))
	}
	if r.CreateWarmMs != nil {
		parts = append(parts, fmt.Sprintf("create warm %.1f ms", r.CreateWarmMs.P50))
	}
	if r.RuntimeBaselineMs != nil {
		parts = append(parts, fmt.Sprintf("%s %.1f ms", baselineName(r.Machine.Runtime), r.RuntimeBaselineMs.P50))
	}
	if r.ColdOverBaseline != nil {
		parts = append(parts, fmt.Sprintf("cold/baseline %.2fx", *r.ColdOverBaseline))
	}
	if r.ExecMs != nil {
		parts = append(parts, fmt.Sprintf("exec %.1f ms", r.ExecMs.P50))
	}
	return strings.Join(parts, ", ")
}

func writeRows(b *strings.Builder, rows [][2]string) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(b)
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	_ = tw.Flush()
}

func baselineName(runtime string) string {
	if runtime == "" {
		runtime = "runtime"
	}
	return runtime + " run /bin/true"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func mib(n int64) string {
	return fmt.Sprintf("%g MiB", roundTo(float64(n)/(1<<20), 1))
}
