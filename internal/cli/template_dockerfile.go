package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/internal/dockerfile"
)

// dockerfileBuild is `soulbox template build NAME --dockerfile FILE`: the
// Dockerfile becomes E2B build steps, the files its COPY steps name are
// uploaded by hash (skipped when the server has them), and the build's
// log is followed until it ends.
type dockerfileBuild struct {
	name, file, contextDir string
	tags                   []string
	force                  bool
	asJSON                 bool
	out, errOut            io.Writer
}

func (b dockerfileBuild) run(ctx context.Context, c *client.Client) error {
	f, err := os.Open(b.file)
	if err != nil {
		return err
	}
	rec, err := dockerfile.Parse(f)
	f.Close()
	if err != nil {
		return err
	}
	if b.contextDir == "" {
		b.contextDir = filepath.Dir(b.file)
	}
	ref, err := c.RequestTemplateBuild(ctx, b.name, b.tags)
	if err != nil {
		return err
	}
	spec := client.TemplateBuildSpec{FromImage: rec.FromImage, Force: b.force, StartCmd: rec.StartCmd}
	for _, st := range rec.Steps {
		step := client.TemplateStep{Type: st.Type, Args: st.Args}
		if st.Type == "COPY" {
			hash, archive, err := packFiles(b.contextDir, st.Args[0])
			if err != nil {
				return fmt.Errorf("Dockerfile line %d: %w", st.Line, err)
			}
			present, url, err := c.TemplateFiles(ctx, ref.TemplateID, hash)
			if err != nil {
				return err
			}
			if !present {
				if err := c.UploadTemplateFiles(ctx, url, bytes.NewReader(archive), int64(len(archive))); err != nil {
					return err
				}
				b.progress("uploaded %s (%d bytes)", st.Args[0], len(archive))
			} else {
				b.progress("%s already on the server", st.Args[0])
			}
			step.FilesHash = hash
		}
		spec.Steps = append(spec.Steps, step)
	}
	if err := c.StartTemplateBuild(ctx, ref.TemplateID, ref.BuildID, spec); err != nil {
		return err
	}
	b.progress("building %s (template %s, build %s)", b.name, ref.TemplateID, ref.BuildID)
	offset := 0
	for {
		st, err := c.TemplateBuildStatus(ctx, ref.TemplateID, ref.BuildID, offset)
		if err != nil {
			return err
		}
		offset += len(st.LogEntries)
		for _, e := range st.LogEntries {
			step := e.Step
			if step != "" {
				step = "[" + step + "] "
			}
			b.progress("%s%s", step, e.Message)
		}
		if (st.Status == "ready" || st.Status == "error") && len(st.LogEntries) == 0 {
			if b.asJSON {
				if err := json.NewEncoder(b.out).Encode(st); err != nil {
					return err
				}
			}
			if st.Status == "error" {
				msg := "build failed"
				if st.Reason != nil {
					msg = st.Reason.Message
				}
				return fmt.Errorf("template %s: %s", b.name, msg)
			}
			if !b.asJSON {
				fmt.Fprintf(b.out, "%s built: template %s, build %s\n", b.name, ref.TemplateID, ref.BuildID)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// progress writes a line of the live log (to stderr, so --json output
// stays clean).
func (b dockerfileBuild) progress(format string, args ...any) {
	fmt.Fprintf(b.errOut, format+"\n", args...)
}

// packFiles makes the gzipped tar archive of what src (a path or glob in
// the build context) names, with names relative to the context, and a
// hash of its content that changes whenever the archive would.
func packFiles(contextDir, src string) (string, []byte, error) {
	clean := filepath.Clean(src)
	if filepath.IsAbs(clean) || !filepath.IsLocal(clean) {
		return "", nil, fmt.Errorf("COPY %s: the source must be inside the build context", src)
	}
	matches, err := filepath.Glob(filepath.Join(contextDir, clean))
	if err != nil || len(matches) == 0 {
		return "", nil, fmt.Errorf("COPY %s: nothing in the build context %s matches", src, contextDir)
	}
	var paths []string
	for _, m := range matches {
		err := filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			paths = append(paths, p)
			return nil
		})
		if err != nil {
			return "", nil, err
		}
	}
	slices.Sort(paths)
	paths = slices.Compact(paths)
	h := sha256.New()
	fmt.Fprintf(h, "COPY %s\n", src)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil {
			return "", nil, err
		}
		rel, _ := filepath.Rel(contextDir, p)
		rel = filepath.ToSlash(rel)
		link := ""
		if fi.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return "", nil, err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return "", nil, fmt.Errorf("COPY %s: %s: %w", src, rel, err)
		}
		hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = rel, 0, 0, "", ""
		if fi.IsDir() {
			hdr.Name += "/"
		}
		fmt.Fprintf(h, "%s %o %d %s\n", rel, fi.Mode(), fi.Size(), link)
		if err := tw.WriteHeader(hdr); err != nil {
			return "", nil, err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return "", nil, err
			}
			_, err = io.Copy(io.MultiWriter(tw, h), f)
			f.Close()
			if err != nil {
				return "", nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return "", nil, err
	}
	if err := zw.Close(); err != nil {
		return "", nil, err
	}
	return hex.EncodeToString(h.Sum(nil)), buf.Bytes(), nil
}
