package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/soulbox/soulbox/internal/client"
)

// serverCPU reads the CPU time the server's process has used, in
// seconds, from its /metrics (process_cpu_seconds_total). ok is false when
// the server does not show it (metrics off, or behind a token the bench's
// key is not).
func serverCPU(ctx context.Context, cl *client.Client) (seconds float64, ok bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(cl.BaseURL, "/")+"/metrics", nil)
	if err != nil {
		return 0, false
	}
	req.Header.Set("Authorization", "Bearer "+cl.APIKey)
	hc := cl.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false
	}
	v, err := cpuSeconds(bufio.NewScanner(resp.Body))
	return v, err == nil
}

// cpuSeconds finds process_cpu_seconds_total in Prometheus' text format.
func cpuSeconds(sc *bufio.Scanner) (float64, error) {
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "process_cpu_seconds_total ")
		if !ok {
			continue
		}
		return strconv.ParseFloat(strings.TrimSpace(v), 64)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no process_cpu_seconds_total")
}
