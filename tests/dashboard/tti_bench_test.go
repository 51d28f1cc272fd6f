package dashboard

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/server"
)

// BenchmarkSandboxesPage measures the dashboard's sandboxes page in
// headless Chromium (web/e2e/tti.mjs) against a server listing real
// sandboxes: SOULBOX_TTI_SANDBOXES of them (default 50), created
// through the API from the base template and left running. Each
// iteration is one cold load in a fresh browser context; reported are
// the median time to interactive (tti-ms), the median time to scroll
// through every page (all-ms) and the rows in the document at the top
// and at the end (rows, rows-at-end), which show the list windowed.
// With SOULBOX_TTI_SYNTH=N the browser is answered N list entries
// instead, made in the page's network layer from the real server's
// first row (see tti.mjs): the page's cost at a size this host cannot
// run for real, not the server's.
func BenchmarkSandboxesPage(b *testing.B) {
	chromium := requireBrowser(b)
	n := 50
	if s := os.Getenv("SOULBOX_TTI_SANDBOXES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			b.Fatalf("SOULBOX_TTI_SANDBOXES=%q: want a count of at least 1", s)
		}
	}
	synth := os.Getenv("SOULBOX_TTI_SYNTH")
	cfg := server.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = ocitest.Root(b)
	cfg.TemplatesDir = ocitest.TemplateCache()
	cfg.AgentPath = ocitest.AgentBinary(b)
	stop := start(b, &cfg)
	defer stop()
	keyb, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin.key"))
	if err != nil {
		b.Fatalf("the server wrote no admin key: %v", err)
	}
	key := strings.TrimSpace(string(keyb))
	url := "http://" + cfg.Listen
	requireBuilt(b, url)

	ids := createSandboxes(b, url, key, n)
	defer func() {
		for _, id := range ids {
			req, _ := http.NewRequest(http.MethodDelete, url+"/sandboxes/"+id, nil)
			req.Header.Set("X-API-Key", key)
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
			}
		}
	}()
	expect := strconv.Itoa(n)
	if synth != "" {
		expect = synth
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.ResetTimer()
	cmd := exec.CommandContext(ctx, "node", "e2e/tti.mjs")
	cmd.Dir = web
	cmd.Env = append(os.Environ(), "SOULBOX_URL="+url, "SOULBOX_API_KEY="+key, "CHROMIUM="+chromium,
		"EXPECT="+expect, "SYNTH="+synth, "RUNS="+strconv.Itoa(b.N))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	b.StopTimer()
	if err != nil {
		b.Fatalf("tti.mjs: %v\n%s", err, out)
	}
	var tti, all, rows, rowsEnd []float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "tti: ")
		if !ok {
			continue
		}
		fmt.Println(sc.Text())
		var r struct{ TTIMs, AllLoadedMs, RowsRendered, RowsRenderedAtEnd float64 }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			b.Fatalf("tti.mjs printed %q: %v", line, err)
		}
		tti, all = append(tti, r.TTIMs), append(all, r.AllLoadedMs)
		rows, rowsEnd = append(rows, r.RowsRendered), append(rowsEnd, r.RowsRenderedAtEnd)
	}
	if len(tti) != b.N {
		b.Fatalf("tti.mjs timed %d loads, want %d:\n%s", len(tti), b.N, out)
	}
	b.ReportMetric(median(tti), "tti-ms")
	b.ReportMetric(median(all), "all-ms")
	b.ReportMetric(median(rows), "rows")
	b.ReportMetric(median(rowsEnd), "rows-at-end")
}

// createSandboxes creates n sandboxes of the base template through the
// API, two at a time, and returns their ids.
func createSandboxes(b *testing.B, url, key string, n int) []string {
	b.Helper()
	var (
		mu   sync.Mutex
		ids  []string
		errs []error
		wg   sync.WaitGroup
	)
	work := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				body := strings.NewReader(`{"templateID":"base","timeout":1800,"metadata":{"purpose":"tti"}}`)
				req, _ := http.NewRequest(http.MethodPost, url+"/sandboxes", body)
				req.Header.Set("X-API-Key", key)
				req.Header.Set("Content-Type", "application/json")
				res, err := http.DefaultClient.Do(req)
				var sb struct {
					SandboxID string `json:"sandboxID"`
					Message   string `json:"message"`
				}
				if err == nil {
					err = json.NewDecoder(res.Body).Decode(&sb)
					res.Body.Close()
					if err == nil && res.StatusCode != http.StatusCreated {
						err = fmt.Errorf("create: %d %s", res.StatusCode, sb.Message)
					}
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					ids = append(ids, sb.SandboxID)
				}
				mu.Unlock()
			}
		}()
	}
	for range n {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	if len(errs) > 0 {
		b.Fatalf("%d of %d creates failed, first: %v", len(errs), n, errs[0])
	}
	return ids
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
