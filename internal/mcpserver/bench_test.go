package mcpserver_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/soulbox/soulbox/internal/server/servertest"
)

// BenchmarkRunCodeStdio measures a run_code round trip ("1 + 1") through
// `soulbox mcp` over stdio, as an MCP client sees it; the sandbox is made
// before timing. Reports the median in ms.
//
//	go test -run '^$' -bench RunCodeStdio -benchtime=200x ./internal/mcpserver
func BenchmarkRunCodeStdio(b *testing.B) {
	s := servertest.Start(b, nil)
	bin := filepath.Join(b.TempDir(), "soulbox")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/soulbox/soulbox/cmd/soulbox").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "mcp")
	cmd.Env = append(os.Environ(), "SOULBOX_API_URL="+s.URL, "SOULBOX_API_KEY="+s.APIKey)
	ctx := context.Background()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil).Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close()
	call := func() {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "run_code", Arguments: map[string]any{"code": "1 + 1"}})
		if err != nil || res.IsError {
			b.Fatalf("run_code: %v %+v", err, res)
		}
	}
	for range 5 {
		call() // the sandbox and its interpreter
	}
	ms := make([]float64, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		call()
		ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
	}
	slices.Sort(ms)
	b.ReportMetric(ms[len(ms)/2], "median-ms")
}
