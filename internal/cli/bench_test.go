package cli_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
)

// benchPercentiles is the shape of each latency in the bench's JSON.
type benchPercentiles struct {
	P50, P95, P99 float64
	N             int
}

// TestBench runs a short bench against a real server and checks the
// report's shape and that what ran measured something; never timings.
func TestBench(t *testing.T) {
	e := newCLIEnv(t)
	out, errOut, code := e.run(t, "", "bench", "--only", "exec,create_cold,runtime_baseline", "--iterations", "3",
		"--templates-dir", ocitest.TemplateCache(), "--json")
	if code != 0 {
		t.Fatalf("bench: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	var rep struct {
		Iterations        int               `json:"iterations"`
		CreateWarmMs      *benchPercentiles `json:"create_warm_ms"`
		CreateColdMs      *benchPercentiles `json:"create_cold_ms"`
		RuntimeBaselineMs *benchPercentiles `json:"runtime_baseline_ms"`
		ColdOverBaseline  *float64          `json:"cold_over_baseline"`
		ExecMs            *benchPercentiles `json:"exec_ms"`
		CreatesPerSec     *float64          `json:"creates_per_sec"`
		Idle              *json.RawMessage  `json:"idle_mib_per_sandbox"`
		Skipped           map[string]string `json:"skipped"`
		Errors            []map[string]any  `json:"errors"`
		Machine           map[string]any    `json:"machine"`
		Rest              map[string]any    `json:"-"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bench --json is not one JSON object: %v\n%s", err, out)
	}
	if rep.Iterations != 3 || len(rep.Errors) != 0 {
		t.Errorf("iterations %d, errors %v", rep.Iterations, rep.Errors)
	}
	for name, p := range map[string]*benchPercentiles{"create_cold_ms": rep.CreateColdMs, "exec_ms": rep.ExecMs} {
		if p == nil || p.N != 3 || p.P50 <= 0 || p.P95 < p.P50 || p.P99 < p.P95 {
			t.Errorf("%s = %+v, want 3 positive ordered samples", name, p)
		}
	}
	if why, skipped := rep.Skipped["runtime_baseline"]; skipped {
		t.Logf("runtime baseline skipped: %s", why)
	} else if p := rep.RuntimeBaselineMs; p == nil || p.N != 3 || p.P50 <= 0 || rep.ColdOverBaseline == nil || *rep.ColdOverBaseline <= 0 {
		t.Errorf("runtime_baseline_ms = %+v, cold_over_baseline %v", p, rep.ColdOverBaseline)
	}
	if rep.CreateWarmMs != nil || rep.CreatesPerSec != nil || rep.Idle != nil {
		t.Errorf("measurements not asked for ran: %s", out)
	}
	if cpus, _ := rep.Machine["cpus"].(float64); cpus < 1 || rep.Machine["kernel"] == "" {
		t.Errorf("machine = %v", rep.Machine)
	}
	assertNoSandboxes(t, e)

	// The table is the default.
	out, errOut, code = e.run(t, "", "bench", "--only", "exec", "--iterations", "2")
	if code != 0 || !strings.Contains(out, "medians: exec ") || !strings.Contains(out, "exec echo hi") {
		t.Errorf("bench table: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code := e.run(t, "", "bench", "--only", "nope"); code == 0 || !strings.Contains(errOut, `"nope"`) {
		t.Errorf("bench --only nope: exit %d, %s", code, errOut)
	}
}

// TestBenchInterrupt interrupts a bench while it creates sandboxes: it
// must stop, say so, and leave none behind.
func TestBenchInterrupt(t *testing.T) {
	e := newCLIEnv(t)
	cmd := e.command("bench", "--only", "creates", "--duration", "5m", "--concurrency", "4", "--json")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// Interrupt once it has sandboxes running.
	for i := 0; ; i++ {
		list, _, _ := e.run(t, "", "sandbox", "list", "--json")
		if strings.Contains(list, "sandboxID") {
			break
		}
		if i == 100 {
			t.Fatalf("no sandbox appeared; stderr:\n%s", errOut.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 {
			t.Errorf("interrupted bench: %v, want a non-zero exit", err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("bench did not stop within a minute of SIGINT; stderr:\n%s", errOut.String())
	}
	if !strings.Contains(errOut.String(), "interrupted") {
		t.Errorf("stderr does not say it was interrupted:\n%s", errOut.String())
	}
	assertNoSandboxes(t, e)
}

func assertNoSandboxes(t *testing.T, e cliEnv) {
	t.Helper()
	if out, _, _ := e.run(t, "", "sandbox", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("the bench left sandboxes: %s", out)
	}
}
