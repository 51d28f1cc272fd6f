package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/server/servertest"
	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

func TestExample(t *testing.T) {
	s := servertest.Start(t, nil)
	c, err := soulbox.New(soulbox.Options{APIURL: s.URL, APIKey: s.APIKey, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	png := filepath.Join(t.TempDir(), "chart.png")
	var out bytes.Buffer
	if err := run(context.Background(), c, png, &out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("chart.png: %v", err)
	}
	for _, want := range []string{`chart: line "Sales"`, "total sales: 50"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
