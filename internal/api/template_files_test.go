package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

type noBase struct{}

func (noBase) Layers(context.Context, string) ([]string, error) { return []string{"/base"}, nil }

// An upload over the size limit is answered 413 with E2B's error body.
func TestUploadTooLargeIs413(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cat, err := catalog.New(ctx, catalog.Config{Store: st, Base: noBase{}, Dir: filepath.Join(dir, "files"),
		Limits: catalog.Limits{MaxUploadBytes: 1024}})
	if err != nil {
		t.Fatal(err)
	}
	tpl, _, _, err := cat.RequestBuild(ctx, catalog.BuildRequest{Team: "default", Name: "app"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	tm := NewTemplates(TemplatesConfig{Catalog: cat})
	tm.Register(mux)
	tm.RegisterUploads(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/templates/" + tpl.ID + "/files/" + strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	var up struct{ URL string }
	json.NewDecoder(res.Body).Decode(&up)
	res.Body.Close()
	req, _ := http.NewRequest(http.MethodPut, up.URL, bytes.NewReader(make([]byte, 4096)))
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Code    int
		Message string
	}
	json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != http.StatusRequestEntityTooLarge || body.Code != 413 || !strings.Contains(body.Message, "larger than 1024 bytes") {
		t.Fatalf("oversized upload: %d %+v", res.StatusCode, body)
	}
}
