package catalog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// Uploaded build files are kept per team until they go unused: an archive
// no running or starting build refers to, and that was neither uploaded
// nor reported present for uploadTTL, is removed when the team next asks
// for an upload URL or uploads, and for every team at start. What a team
// keeps is bounded by Limits.FilesQuotaBytes.

// referFiles marks the archives of team's COPY steps hashes as in use by
// a build until the returned release is called: they are not collected
// meanwhile.
func (c *Catalog) referFiles(team string, hashes []string) (release func()) {
	c.filesMu.Lock()
	defer c.filesMu.Unlock()
	paths := make([]string, 0, len(hashes))
	for _, h := range hashes {
		p := c.filesPath(team, h)
		c.filesRefs[p]++
		paths = append(paths, p)
	}
	done := false
	return func() {
		c.filesMu.Lock()
		defer c.filesMu.Unlock()
		if done {
			return
		}
		done = true
		for _, p := range paths {
			if c.filesRefs[p]--; c.filesRefs[p] <= 0 {
				delete(c.filesRefs, p)
			}
		}
	}
}

// collectFiles removes the unused archives older than uploadTTL in the
// team directory dir. Call with filesMu held.
func (c *Catalog) collectFiles(dir string, now time.Time) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("template files: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".tar") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fi, err := e.Info()
		if err != nil || c.filesRefs[p] > 0 || now.Sub(fi.ModTime()) < uploadTTL {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("template files: %w", err)
		}
	}
	return nil
}

// collectAllFiles collects every team's unused archives.
func (c *Catalog) collectAllFiles(now time.Time) error {
	c.filesMu.Lock()
	defer c.filesMu.Unlock()
	dirs, err := filepath.Glob(filepath.Join(c.files, "team-*"))
	if err != nil {
		return err
	}
	for _, d := range dirs {
		if err := c.collectFiles(d, now); err != nil {
			return err
		}
	}
	return nil
}

// filesUsed is the bytes the files in team directory dir take, uploads
// in progress included, but not the file skip. Call with filesMu held.
func filesUsed(dir, skip string) (int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("template files: %w", err)
	}
	var total int64
	for _, e := range entries {
		if !e.Type().IsRegular() || filepath.Join(dir, e.Name()) == skip {
			continue
		}
		if fi, err := e.Info(); err == nil {
			total += fi.Size()
		}
	}
	return total, nil
}

// withinQuota refuses an archive of size bytes, at tmp in team directory
// dir, that would take the team's stored files past its quota. Unused
// archives are collected first. Call with filesMu held.
func (c *Catalog) withinQuota(dir, tmp string, size int64) error {
	if err := c.collectFiles(dir, time.Now()); err != nil {
		return err
	}
	used, err := filesUsed(dir, tmp)
	if err != nil {
		return err
	}
	if quota := c.limits.FilesQuotaBytes; used+size > quota {
		return fmt.Errorf("your team's uploaded build files take %d bytes and this archive %d more, past the %d bytes a team may keep; files no build uses are removed %v after their last upload or use: %w",
			used, size, quota, uploadTTL, errdefs.ErrResourceExhausted)
	}
	return nil
}

// touchFiles restarts the unused time of an archive a client was told is
// present, so it is still there when the client's build starts.
func touchFiles(path string) {
	now := time.Now()
	_ = os.Chtimes(path, now, now)
}
