package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/client"
)

// BenchmarkObservabilityOverhead is the A/B of metrics and tracing on the
// two paths users feel: three servers in this process, one without
// metrics, one with metrics (tracing off), one with metrics and tracing
// exporting to an OTLP receiver on loopback, take turns (the order
// rotating each round) at a warm create through the REST API and a
// commands.run-like exec of `true` in the created sandbox through the
// proxy. Reported: each one's median of both and the overhead against the
// server without metrics. Run with -benchtime=Nx (N rounds).
func BenchmarkObservabilityOverhead(b *testing.B) {
	off := startBenchServer(b, false)
	metrics := startBenchServer(b, true)
	receiver := httptest.NewServer(&otlpReceiver{})
	b.Cleanup(receiver.Close)
	// The traced server reads the OTEL_* variables when it starts; the
	// others have already started without them.
	for k, v := range map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.URL, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"} {
		os.Setenv(k, v)
		defer os.Unsetenv(k)
	}
	traced := startBenchServer(b, true)
	os.Unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT")

	servers := []*benchServer{off, metrics, traced}
	execs := map[*benchServer][]time.Duration{}
	round := func(s *benchServer) {
		id := s.createKeep(b)
		cl := &client.Client{BaseURL: s.base, APIKey: s.key}
		ctx := context.Background()
		sb, err := cl.Get(ctx, id.SandboxID)
		if err != nil {
			b.Fatal(err)
		}
		sb.EnvdAccessToken = *id.EnvdAccessToken
		start := time.Now()
		code, err := cl.Exec(ctx, sb, []string{"true"}, client.ExecOptions{Stdout: io.Discard, Stderr: io.Discard})
		took := time.Since(start)
		if err != nil || code != 0 {
			b.Fatalf("exec: %d %v", code, err)
		}
		execs[s] = append(execs[s], took)
		if code := s.do(b, "DELETE", "/sandboxes/"+id.SandboxID, "", nil); code != 204 {
			b.Fatalf("kill: %d", code)
		}
	}
	for _, s := range servers { // untimed: warms connections and caches
		round(s)
		s.took, execs[s] = nil, nil
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range servers {
			round(servers[(i+j)%len(servers)])
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	pct := func(a, base time.Duration) float64 { return 100 * (float64(a) - float64(base)) / float64(base) }
	for _, x := range []struct {
		name string
		s    *benchServer
	}{{"off", off}, {"metrics", metrics}, {"traced", traced}} {
		b.ReportMetric(ms(median(x.s.took)), fmt.Sprintf("create-ms-%s", x.name))
		b.ReportMetric(ms(median(execs[x.s])), fmt.Sprintf("exec-ms-%s", x.name))
	}
	b.ReportMetric(pct(median(metrics.took), median(off.took)), "create-%-metrics")
	b.ReportMetric(pct(median(traced.took), median(off.took)), "create-%-traced")
	b.ReportMetric(pct(median(execs[metrics]), median(execs[off])), "exec-%-metrics")
	b.ReportMetric(pct(median(execs[traced]), median(execs[off])), "exec-%-traced")
}

// createKeep times one warm create through the API and returns the
// sandbox, left running.
func (s *benchServer) createKeep(b *testing.B) sandboxJSON {
	s.ready(b)
	var sb sandboxJSON
	start := time.Now()
	code := s.do(b, "POST", "/sandboxes", `{"templateID":"base"}`, &sb)
	took := time.Since(start)
	if code != 201 {
		b.Fatalf("create: %d", code)
	}
	s.took = append(s.took, took)
	return sb
}
