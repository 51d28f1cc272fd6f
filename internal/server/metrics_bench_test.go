package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/pool"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
)

// benchServer is a server with a warm pool of two, with metrics on or
// off.
type benchServer struct {
	base, key string
	took      []time.Duration
}

func startBenchServer(b *testing.B, metrics bool) *benchServer {
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = ocitest.Root(b)
	cfg.TemplatesDir = ocitest.TemplateCache()
	cfg.AgentPath = ocitest.AgentBinary(b)
	cfg.PoolMin, cfg.PoolMax, cfg.PoolPrewarm = 2, 2, "none"
	cfg.Metrics = metrics
	cfg.AdminKey, _, _ = auth.Generate()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, discardLogger())
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	return &benchServer{base: "http://" + srv.Addr(), key: cfg.AdminKey}
}

func (s *benchServer) do(b *testing.B, method, path, body string, out any) int {
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	req.Header.Set("X-API-Key", s.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// ready waits until the pool has a sandbox to claim.
func (s *benchServer) ready(b *testing.B) {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var h struct {
			Pool []pool.Stats `json:"pool"`
		}
		s.do(b, "GET", "/health", "", &h)
		if len(h.Pool) == 1 && h.Pool[0].Ready >= 2 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatal("the pool never filled")
}

// create times one warm create through the API, then kills the sandbox
// (untimed).
func (s *benchServer) create(b *testing.B) {
	s.ready(b)
	var sb sandboxJSON
	start := time.Now()
	code := s.do(b, "POST", "/sandboxes", `{"templateID":"base"}`, &sb)
	took := time.Since(start)
	if code != 201 {
		b.Fatalf("create: %d", code)
	}
	s.took = append(s.took, took)
	if code := s.do(b, "DELETE", "/sandboxes/"+sb.SandboxID, "", nil); code != 204 {
		b.Fatalf("kill: %d", code)
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkWarmCreateMetrics measures the cost of the metrics on the
// warm create path: two servers, one with metrics and one without, take
// turns (the order alternating each round) creating a sandbox from a
// full pool through the REST API. Reported: the median create of each
// and the difference in percent. Run with -benchtime=Nx (N rounds).
func BenchmarkWarmCreateMetrics(b *testing.B) {
	on, off := startBenchServer(b, true), startBenchServer(b, false)
	// One untimed create each warms connections and caches.
	on.create(b)
	off.create(b)
	on.took, off.took = nil, nil
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			on.create(b)
			off.create(b)
		} else {
			off.create(b)
			on.create(b)
		}
	}
	b.StopTimer()
	mOn, mOff := median(on.took), median(off.took)
	b.ReportMetric(float64(mOn.Microseconds())/1000, "ms-median-metrics-on")
	b.ReportMetric(float64(mOff.Microseconds())/1000, "ms-median-metrics-off")
	b.ReportMetric(100*(float64(mOn)-float64(mOff))/float64(mOff), "%-overhead")
}
