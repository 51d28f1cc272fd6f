package compat

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/server/servertest"
	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// BenchmarkRunEchoGoVersusJS measures Run("echo hi") with the Go SDK and
// commands.run('echo hi') with the e2b JS SDK against the same sandbox of
// one server, in one run, and reports both medians (ms) and their ratio.
// Run it with -benchtime=1x: each side makes BENCH_N calls (default 100)
// after five to warm up.
//
//	go test -run '^$' -bench RunEchoGoVersusJS -benchtime=1x ./tests/compat
func BenchmarkRunEchoGoVersusJS(b *testing.B) {
	if _, err := exec.LookPath("node"); err != nil {
		b.Skip("node is not installed")
	}
	s := servertest.Start(b, nil)
	ctx := context.Background()
	c, err := soulbox.New(soulbox.Options{APIURL: s.URL, APIKey: s.APIKey, Getenv: func(string) string { return "" }})
	if err != nil {
		b.Fatal(err)
	}
	sb, err := c.Create(ctx, "", soulbox.CreateOptions{Timeout: 10 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Kill(ctx)
	n := 100
	if v, err := strconv.Atoi(os.Getenv("BENCH_N")); err == nil && v > 0 {
		n = v
	}
	for range b.N {
		for range 5 {
			if _, err := sb.Commands.Run(ctx, "echo hi", nil); err != nil {
				b.Fatal(err)
			}
		}
		ms := make([]float64, 0, n)
		for range n {
			t0 := time.Now()
			r, err := sb.Commands.Run(ctx, "echo hi", nil)
			ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
			if err != nil || r.Stdout != "hi\n" {
				b.Fatalf("Run = %+v, %v", r, err)
			}
		}
		slices.Sort(ms)
		goMedian := ms[n/2]

		cmd := exec.Command("node", "bench_run.mjs")
		cmd.Env = append(os.Environ(), "E2B_API_URL="+s.URL, "E2B_SANDBOX_URL="+s.URL, "E2B_API_KEY="+s.APIKey, "E2B_DOMAIN=localhost",
			"SANDBOX_ID="+sb.ID, "BENCH_N="+strconv.Itoa(n))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("node bench_run.mjs: %v", err)
		}
		var js struct {
			MedianMS float64 `json:"median_ms"`
			P90MS    float64 `json:"p90_ms"`
		}
		if err := json.Unmarshal(out, &js); err != nil {
			b.Fatalf("node said %q: %v", out, err)
		}
		b.ReportMetric(goMedian, "go-median-ms")
		b.ReportMetric(ms[n*9/10], "go-p90-ms")
		b.ReportMetric(js.MedianMS, "js-median-ms")
		b.ReportMetric(js.P90MS, "js-p90-ms")
		b.ReportMetric(goMedian/js.MedianMS, "go/js")
	}
}
