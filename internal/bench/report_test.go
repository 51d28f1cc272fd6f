package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func sampleReport() *Report {
	f := func(x float64) *float64 { return &x }
	r := newReport(Config{Template: "base", Iterations: 50}, "http://127.0.0.1:3000")
	r.StartedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r.Machine = Machine{CPUs: 2, MemoryMiB: 24576, Kernel: "6.1.0", CgroupVersion: "v1", Runtime: "runc", RuntimeVersion: "1.1.5",
		ServerVersion: "0.1.0", ServerRuntime: "oci/runc"}
	r.CreateWarmMs = &Percentiles{P50: 20.5, P95: 30, P99: 41.25, N: 50}
	r.CreateColdMs = &Percentiles{P50: 143, P95: 160.5, P99: 170, N: 50}
	r.RuntimeBaselineMs = &Percentiles{P50: 22, P95: 25, P99: 30, N: 50}
	r.ExecMs = &Percentiles{P50: 14, P95: 16, P99: 18, N: 50}
	r.ExecAfterPauseMs = &Percentiles{P50: 15, P95: 17, P99: 19, N: 50}
	r.StdoutMBPerSec, r.StdoutBytes = f(812.4), 256<<20
	r.FileWriteMBPerSec, r.FileReadMBPerSec, r.FileBytes = f(300), f(450.5), 128<<20
	r.CreatesPerSec = f(8.25)
	r.CreatesRun = &CreatesRun{Concurrency: 16, DurationSec: 30.4, Created: 251, Errors: 0}
	r.IdleMiBPerSandbox = &IdleMemory{Sandboxes: 50, CreateAllSec: 6.2, KillAllSec: 2.4, Answered: 50, CgroupMemUsed: 3.2,
		ProcessRSS: 11.3, ProcessPSS: 2.7, HostMemAvailableDrop: 2.5, Leftovers: []string{"1 mounts of 1 sandboxes"}}
	r.RunLoad = &APILoad{TargetPerSec: 200, Sandboxes: 50, DurationSec: 10, Sent: 2000, AchievedPerSec: 199.5, SucceededPerSec: 199.4, Errors: 1,
		Kinds: map[string]*LoadKind{LoadRunLogin: {Ms: Percentiles{P50: 12, P95: 40, P99: 80, N: 1999}, Errors: 1}}}
	r.finish()
	return r
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := `SoulBox bench of http://127.0.0.1:3000 (server 0.1.0, oci/runc), template base
this machine: 2 CPUs, 24.0 GiB, Linux 6.1.0, cgroup v1, runc 1.1.5

medians: create cold 143.0 ms, create warm 20.5 ms, runc run /bin/true 22.0 ms, cold/baseline 6.50x, exec 14.0 ms

latency, ms                                p50      p95      p99     n
create + first command, pool              20.5     30.0     41.2    50
create + first command, no pool          143.0    160.5    170.0    50
runtime baseline, runc run /bin/true      22.0     25.0     30.0    50
exec echo hi                              14.0     16.0     18.0    50
exec echo hi after a 1 s pause            15.0     17.0     19.0    50

stdout stream            812.4 MB/s (256 MiB)
file write               300.0 MB/s (128 MiB)
file read                450.5 MB/s (128 MiB)
commands.run load        199.5 req/s of 200 asked, 199.4/s answered without error (2000 sent, 0 shed by the client, 1 errors) across 50 sandboxes for 10s
  commands_run_sdk       p50 12.0 ms, p95 40.0 ms, p99 80.0 ms, 1999 ok, 1 errors
creates per second       8.2 (create and kill, 16 at once for 30s: 251 created, 0 errors)
idle memory per sandbox  3.2 MiB in its cgroup; its processes' RSS 11.3 MiB, PSS 2.7 MiB; 2.5 MiB of host MemAvailable (these three only valid if the bench ran on the server's host); over 50 sandboxes
idle sandboxes           50 created in 6.2 s, 50 answered a command, killed in 2.4 s; left on this host: 1 mounts of 1 sandboxes
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}

func TestWriteTableSkipsAndErrors(t *testing.T) {
	r := newReport(Config{Template: "base", Iterations: 3}, "http://h:1")
	r.ExecMs = &Percentiles{P50: 9, P95: 9, P99: 9, N: 3}
	r.Skipped[RuntimeBaseline] = "needs root"
	r.Errors = append(r.Errors, Failure{Measurement: CreateCold, Count: 2, Message: "create a sandbox of template base: boom"})
	r.finish()
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := `SoulBox bench of http://h:1 (server unknown, unknown), template base
this machine: 0 CPUs, 0.0 GiB, Linux unknown, cgroup unknown, unknown

medians: exec 9.0 ms

latency, ms        p50      p95      p99     n
exec echo hi       9.0      9.0      9.0     3

skipped runtime_baseline  needs root
ERRORS create_cold        2, the first: create a sandbox of template base: boom
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}

// The JSON has the same keys whatever ran: a measurement that did not
// run is null, so scripts can rely on the shape.
func TestWriteJSONShape(t *testing.T) {
	for _, r := range []*Report{sampleReport(), newReport(Defaults(), "http://h:1")} {
		var b bytes.Buffer
		if err := r.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"server", "template", "started_at", "iterations", "machine",
			"create_warm_ms", "create_cold_ms", "runtime_baseline_ms", "cold_over_baseline", "exec_ms", "exec_after_pause_ms",
			"stdout_mb_per_sec", "stdout_bytes", "file_write_mb_per_sec", "file_read_mb_per_sec", "file_bytes",
			"agent_upload_50mb_mb_per_sec", "agent_write_1kib_ms", "agent_read_1kib_ms", "agent_watch_event_ms", "api_load", "run_load",
			"creates_per_sec", "creates", "idle_mib_per_sandbox", "skipped", "errors"} {
			if _, ok := got[k]; !ok {
				t.Errorf("key %q missing from %s", k, b.String())
			}
		}
		if len(got) != 27 {
			t.Errorf("%d keys, want 27: %s", len(got), b.String())
		}
		if _, ok := got["errors"].([]any); !ok {
			t.Errorf("errors is %v, want a list", got["errors"])
		}
	}
	var b bytes.Buffer
	_ = sampleReport().WriteJSON(&b)
	var got struct {
		CreateColdMs     map[string]float64 `json:"create_cold_ms"`
		ColdOverBaseline float64            `json:"cold_over_baseline"`
		Machine          map[string]any     `json:"machine"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]float64{"p50": 143, "p95": 160.5, "p99": 170, "n": 50}, got.CreateColdMs); diff != "" {
		t.Errorf("create_cold_ms (-want +got):\n%s", diff)
	}
	if got.ColdOverBaseline != 6.5 {
		t.Errorf("cold_over_baseline = %v, want 6.5", got.ColdOverBaseline)
	}
	for _, k := range []string{"cpus", "memory_mib", "kernel", "cgroup_version", "runtime", "runtime_version"} {
		if _, ok := got.Machine[k]; !ok {
			t.Errorf("machine lacks %q", k)
		}
	}
}

func TestParseOnly(t *testing.T) {
	got, err := ParseOnly(" exec, create_cold,,exec ")
	if err != nil || !cmp.Equal(got, []string{Exec, CreateCold}) {
		t.Errorf("ParseOnly = %v, %v", got, err)
	}
	if got, err := ParseOnly(""); err != nil || got != nil {
		t.Errorf("ParseOnly(\"\") = %v, %v", got, err)
	}
	if _, err := ParseOnly("exec,nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("ParseOnly of an unknown name: %v", err)
	}
}

func TestValidate(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"iterations", func(c *Config) { c.Iterations = 0 }, "iterations 0"},
		{"concurrency", func(c *Config) { c.Concurrency = -1 }, "concurrency -1"},
		{"duration", func(c *Config) { c.Duration = 0 }, "duration"},
		{"idle", func(c *Config) { c.Idle = 0 }, "idle 0"},
		{"template", func(c *Config) { c.Template = "" }, "template"},
		{"only", func(c *Config) { c.Only = []string{"warm"} }, `"warm"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			tc.edit(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
