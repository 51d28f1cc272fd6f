package catalog_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

const hashH = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// openLimited is open with limits.
func openLimited(t *testing.T, lim catalog.Limits) (*catalog.Catalog, store.Store, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	files := filepath.Join(dir, "files")
	c, err := catalog.New(context.Background(), catalog.Config{Store: st, Base: baseLayers{}, Dir: files, Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	return c, st, files
}

// tarOf makes a tar archive, gzipped when gz is set.
func tarOf(t *testing.T, gz bool, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = zw
	}
	tw := tar.NewWriter(w)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, body); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	if zw != nil {
		zw.Close()
	}
	return buf.Bytes()
}

func uploadURL(t *testing.T, c *catalog.Catalog, team, tpl string) string {
	t.Helper()
	present, token, err := c.FileUpload(context.Background(), team, tpl, hashH)
	if err != nil || present || token == "" {
		t.Fatalf("upload URL for %s: %v %q %v", team, present, token, err)
	}
	return token
}

func contentOf(t *testing.T, c *catalog.Catalog, team string) string {
	t.Helper()
	rc, err := c.OpenFiles(team, hashH)
	if err != nil {
		t.Fatalf("files of %s: %v", team, err)
	}
	defer rc.Close()
	raw, _ := io.ReadAll(rc)
	var r io.Reader = bytes.NewReader(raw)
	if zr, err := gzip.NewReader(bytes.NewReader(raw)); err == nil {
		r = zr
	}
	var out []string
	tr := tar.NewReader(r)
	for {
		_, err := tr.Next()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(tr)
		out = append(out, string(b))
	}
	return strings.Join(out, ",")
}

// leftovers lists the files under dir that are not finished uploads.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".tar") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// Build files are kept per team, and a finished upload never changes: an
// early upload URL of one team cannot replace another team's files, nor a
// second URL of the same team its first upload.
func TestUploadsAreTheTeamsAndImmutable(t *testing.T) {
	c, _, _ := openLimited(t, catalog.Limits{})
	ctx := context.Background()
	a, _, _, err := c.RequestBuild(ctx, catalog.BuildRequest{Team: "team-a", Name: "app"})
	if err != nil {
		t.Fatal(err)
	}
	b, _, _, err := c.RequestBuild(ctx, catalog.BuildRequest{Team: "team-b", Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	tokA1, tokA2 := uploadURL(t, c, "team-a", a.ID), uploadURL(t, c, "team-a", a.ID)
	tokB := uploadURL(t, c, "team-b", b.ID)
	if err := c.Upload(ctx, tokA1, bytes.NewReader(tarOf(t, true, map[string]string{"f": "genuine"}))); err != nil {
		t.Fatal(err)
	}
	if err := c.Upload(ctx, tokB, bytes.NewReader(tarOf(t, false, map[string]string{"f": "planted"}))); err != nil {
		t.Fatal(err)
	}
	if err := c.Upload(ctx, tokA2, bytes.NewReader(tarOf(t, false, map[string]string{"f": "replaced"}))); err != nil {
		t.Fatal(err)
	}
	if got := contentOf(t, c, "team-a"); got != "genuine" {
		t.Errorf("team-a's files: %q, want its first upload", got)
	}
	if got := contentOf(t, c, "team-b"); got != "planted" {
		t.Errorf("team-b's files: %q", got)
	}
	if err := c.Upload(ctx, tokA1, bytes.NewReader(tarOf(t, false, map[string]string{"f": "again"}))); !errdefs.IsNotFound(err) {
		t.Errorf("a used upload URL: %v, want not found", err)
	}
	for team, tpl := range map[string]string{"team-a": a.ID, "team-b": b.ID} {
		if present, _, err := c.FileUpload(ctx, team, tpl, hashH); err != nil || !present {
			t.Errorf("%s's files present: %v %v", team, present, err)
		}
	}
}

// The caps on uploads: URLs a team holds, one PUT per URL at a time, the
// size of an archive as sent and unpacked. A refusal keeps nothing.
func TestUploadLimits(t *testing.T) {
	c, _, files := openLimited(t, catalog.Limits{MaxUploadTokens: 2, MaxUploadBytes: 64 << 10, MaxFilesBytes: 1 << 20})
	ctx := context.Background()
	a, _, _, err := c.RequestBuild(ctx, catalog.BuildRequest{Team: "team-a", Name: "app"})
	if err != nil {
		t.Fatal(err)
	}
	b, _, _, err := c.RequestBuild(ctx, catalog.BuildRequest{Team: "team-b", Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	tok1, tok2 := uploadURL(t, c, "team-a", a.ID), uploadURL(t, c, "team-a", a.ID)
	if _, _, err := c.FileUpload(ctx, "team-a", a.ID, hashH); !errors.Is(err, errdefs.ErrResourceExhausted) {
		t.Errorf("a third upload URL: %v, want resource exhausted", err)
	}
	uploadURL(t, c, "team-b", b.ID) // another team's count is its own

	// One PUT per URL at a time.
	pr, pw := io.Pipe()
	first := make(chan error, 1)
	go func() { first <- c.Upload(ctx, tok1, pr) }()
	time.Sleep(100 * time.Millisecond)
	var second error
	for i := 0; i < 50; i++ {
		if second = c.Upload(ctx, tok1, bytes.NewReader(tarOf(t, false, map[string]string{"f": "x"}))); errdefs.IsFailedPrecondition(second) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !errdefs.IsFailedPrecondition(second) {
		t.Errorf("a second PUT while the first runs: %v, want failed precondition", second)
	}
	pw.CloseWithError(errors.New("client went away"))
	if err := <-first; err == nil {
		t.Error("an upload cut short was accepted")
	}

	// Too large as sent, and as unpacked (a gzip bomb).
	big := tarOf(t, false, map[string]string{"big": strings.Repeat("x", 100<<10)})
	bomb := tarOf(t, true, map[string]string{"zeros": strings.Repeat("\x00", 8<<20)})
	if len(bomb) > 64<<10 {
		t.Fatalf("the bomb is %d bytes compressed", len(bomb))
	}
	for name, body := range map[string][]byte{"as sent": big, "unpacked": bomb} {
		err := c.Upload(ctx, tok1, bytes.NewReader(body))
		if !errors.Is(err, catalog.ErrTooLarge) || !errdefs.IsInvalidArgument(err) {
			t.Errorf("too large %s: %v", name, err)
		}
	}
	if left := leftovers(t, files); len(left) > 0 {
		t.Errorf("refused uploads left files: %v", left)
	}
	if present, _, _ := c.FileUpload(ctx, "team-b", b.ID, hashH); present {
		t.Error("a refused upload is present")
	}
	// The URL still takes a good archive after refusals.
	if err := c.Upload(ctx, tok2, bytes.NewReader(tarOf(t, true, map[string]string{"f": "ok"}))); err != nil {
		t.Fatal(err)
	}
	if got := contentOf(t, c, "team-a"); got != "ok" {
		t.Errorf("files: %q", got)
	}
}

// What an upload was receiving when the server stopped is removed at the
// next start.
func TestUnfinishedUploadsSweptAtStart(t *testing.T) {
	c, st, files := openLimited(t, catalog.Limits{})
	ctx := context.Background()
	a, _, _, err := c.RequestBuild(ctx, catalog.BuildRequest{Team: "team-a", Name: "app"})
	if err != nil {
		t.Fatal(err)
	}
	tok := uploadURL(t, c, "team-a", a.ID)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- c.Upload(ctx, tok, pr) }()
	pw.Write(tarOf(t, false, map[string]string{"f": "partial"})[:100])
	for i := 0; len(leftovers(t, files)) == 0 && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	left := leftovers(t, files)
	if len(left) != 1 {
		t.Fatalf("an upload in progress: %v", left)
	}
	// A crash: the partial file stays behind a process that is gone.
	keep := left[0] + ".copy"
	if err := os.Link(left[0], keep); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(keep, filepath.Join(filepath.Dir(left[0]), ".upload-crashed")); err != nil {
		t.Fatal(err)
	}
	pw.CloseWithError(errors.New("gone"))
	<-done
	if _, err := catalog.New(ctx, catalog.Config{Store: st, Base: baseLayers{}, Dir: files}); err != nil {
		t.Fatal(err)
	}
	if left := leftovers(t, files); len(left) != 0 {
		t.Fatalf("after a restart: %v", left)
	}
}
