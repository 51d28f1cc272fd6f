package server_test

import (
	"io"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/envd"
	"github.com/soulbox/soulbox/internal/server"
)

// BenchmarkProxiedRequest sends GET /health to a real sandbox's agent
// through a real server's proxy (by the E2b-Sandbox-Id header), from 8
// clients at once: the proxy's own path per request (authorising the
// route, finding the sandbox, dialling into its network namespace,
// copying the answer). One op is one request; cpu-us/op is the user and
// system CPU of this process (server and client; the agent is apart) per
// request.
func BenchmarkProxiedRequest(b *testing.B) {
	c, _ := runServer(b, func(cfg *server.Config) { cfg.PoolPrewarm = "none" })
	var sb sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base", "timeout": 600}, &sb)
	port := strconv.Itoa(envd.Port)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	get := func() (int, error) {
		req, _ := http.NewRequest("GET", c.base+"/health", nil)
		req.Header.Set("E2b-Sandbox-Id", sb.SandboxID)
		req.Header.Set("E2b-Sandbox-Port", port)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if code, _ := get(); code == 204 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the agent does not answer through the proxy")
		}
	}
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b.SetParallelism(4) // 8 clients on 2 cores
	b.ResetTimer()
	before := cpu()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if code, err := get(); code != 204 {
				b.Errorf("GET /health through the proxy: %d %v", code, err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpu()-before).Microseconds())/float64(b.N), "cpu-us/op")
}
