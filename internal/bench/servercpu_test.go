package bench

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/client"
)

func TestServerCPU(t *testing.T) {
	const metrics = "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n" +
		"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 12.5\nprocess_open_fds 40\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path != "/metrics":
			http.NotFound(w, r)
		case r.Header.Get("Authorization") != "Bearer good":
			http.Error(w, "no", http.StatusUnauthorized)
		default:
			w.Write([]byte(metrics))
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	if v, ok := serverCPU(ctx, &client.Client{BaseURL: srv.URL + "/", APIKey: "good"}); !ok || v != 12.5 {
		t.Errorf("serverCPU = %v, %v; want 12.5", v, ok)
	}
	if _, ok := serverCPU(ctx, &client.Client{BaseURL: srv.URL, APIKey: "bad"}); ok {
		t.Error("a refused /metrics gave a CPU time")
	}
	for _, body := range []string{"process_open_fds 40\n", "process_cpu_seconds_total many\n", ""} {
		if v, err := cpuSeconds(bufio.NewScanner(strings.NewReader(body))); err == nil {
			t.Errorf("cpuSeconds(%q) = %v, want an error", body, v)
		}
	}
}
