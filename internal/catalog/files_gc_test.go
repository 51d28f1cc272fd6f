package catalog_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// A team's stored build files are bounded by its quota, and archives no
// build uses are removed once older than the upload URL's lifetime, which
// makes room again; an archive a build uses, or one a client was just told
// is present, stays.
func TestUploadedFilesQuotaAndCollection(t *testing.T) {
	archive := tarOf(t, false, map[string]string{"f": "x"}) // 2048 bytes
	c, _, _ := openLimited(t, catalog.Limits{FilesQuotaBytes: int64(len(archive)) * 2})
	ctx := context.Background()
	tpl, _, _, err := c.RequestBuild(ctx, catalog.BuildRequest{Team: "team-a", Name: "app"})
	if err != nil {
		t.Fatal(err)
	}
	other, _, _, err := c.RequestBuild(ctx, catalog.BuildRequest{Team: "team-b", Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	hash := func(i int) string { return strings.Repeat("0", 63) + string(rune('0'+i)) }
	upload := func(team, id string, i int) error {
		present, token, err := c.FileUpload(ctx, team, id, hash(i))
		if err != nil || present {
			t.Fatalf("upload URL %d for %s: %v, %v", i, team, present, err)
		}
		return c.Upload(ctx, token, bytes.NewReader(archive))
	}
	for i := 1; i <= 2; i++ {
		if err := upload("team-a", tpl.ID, i); err != nil {
			t.Fatalf("upload %d within the quota: %v", i, err)
		}
	}
	if err := upload("team-a", tpl.ID, 3); !errors.Is(err, errdefs.ErrResourceExhausted) || !strings.Contains(err.Error(), "team may keep") {
		t.Fatalf("upload past the quota: %v, want resource exhausted", err)
	}
	if _, err := os.Stat(c.FilesPath("team-a", hash(3))); err == nil {
		t.Fatal("a refused upload was kept")
	}
	if err := upload("team-b", other.ID, 3); err != nil {
		t.Fatalf("another team's quota: %v", err)
	}

	// Both archives age past the upload URL's lifetime; the first is in
	// use by a build.
	old := time.Now().Add(-2 * time.Hour)
	for i := 1; i <= 2; i++ {
		if err := os.Chtimes(c.FilesPath("team-a", hash(i)), old, old); err != nil {
			t.Fatal(err)
		}
	}
	release := c.ReferFiles("team-a", hash(1))
	if err := upload("team-a", tpl.ID, 3); err != nil {
		t.Fatalf("upload once an unused archive expired: %v", err)
	}
	if _, err := os.Stat(c.FilesPath("team-a", hash(2))); !os.IsNotExist(err) {
		t.Fatalf("an expired unused archive was kept: %v", err)
	}
	if _, err := c.OpenFiles("team-a", hash(1)); err != nil {
		t.Fatalf("an archive a build uses was collected: %v", err)
	}
	release()
	// Told present, an archive is fresh again: it has a whole lifetime
	// for the build that uses it to start.
	nearly := time.Now().Add(-59 * time.Minute)
	if err := os.Chtimes(c.FilesPath("team-a", hash(3)), nearly, nearly); err != nil {
		t.Fatal(err)
	}
	if present, _, err := c.FileUpload(ctx, "team-a", tpl.ID, hash(3)); err != nil || !present {
		t.Fatalf("a kept archive: present %v, %v", present, err)
	}
	if fi, err := os.Stat(c.FilesPath("team-a", hash(3))); err != nil || time.Since(fi.ModTime()) > 10*time.Minute {
		t.Fatalf("an archive reported present was not refreshed: %v", err)
	}
	// Once no build uses it, an expired archive goes.
	if present, _, err := c.FileUpload(ctx, "team-a", tpl.ID, hash(1)); err != nil || present {
		t.Fatalf("an expired archive no build uses: present %v, %v", present, err)
	}
}
