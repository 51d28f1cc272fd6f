package dashboard

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"regexp"
	"testing"
)

// firstLoadBudget is what a browser may download, gzipped, to show the
// first page: the index and the scripts and styles it names. Pages that
// load more (the sandbox page's terminal and charts) do so on their own.
const firstLoadBudget = 500 << 10

// TestFirstLoadSize keeps the first load of the built app within budget,
// and logs it. It skips when the app was not built into this package,
// except in CI (CI=true), where scripts/setup.sh has built it and a
// missing app is a failure: a skip there would let the budget go
// unchecked.
func TestFirstLoadSize(t *testing.T) {
	app, err := fs.Sub(dist, "dist/app")
	if err != nil {
		t.Fatal(err)
	}
	index, err := fs.ReadFile(app, "index.html")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the dashboard is not built, and CI must check its size (scripts/setup.sh or make dashboard builds it)")
		}
		t.Skip("the dashboard is not built (npm run build --prefix web)")
	}
	total := gzipped(t, index)
	names := regexp.MustCompile(`(?:src|href)="/dashboard/(assets/[^"]+)"`).FindAllSubmatch(index, -1)
	if len(names) == 0 {
		t.Fatalf("index.html names no assets: %s", index)
	}
	for _, m := range names {
		b, err := fs.ReadFile(app, string(m[1]))
		if err != nil {
			t.Fatalf("index.html names %s: %v", m[1], err)
		}
		total += gzipped(t, b)
	}
	t.Logf("first load: %d files, %.1f KB gzipped", len(names)+1, float64(total)/1024)
	if total > firstLoadBudget {
		t.Errorf("first load is %.1f KB gzipped, over the %d KB budget: load the new weight lazily", float64(total)/1024, firstLoadBudget>>10)
	}
}

func gzipped(t *testing.T, b []byte) int {
	t.Helper()
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}
