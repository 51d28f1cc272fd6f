package files

import (
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// download serves GET /files: the file at path, read as the user, with
// Range and conditional requests (http.ServeContent), or gzip-compressed
// on the fly when the client accepts it and asks for the whole file.
func (h *Handler) download(w http.ResponseWriter, r *http.Request) {
	if err := h.authorize(r, opRead); err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.user(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	path, herr := resolve(u, r.URL.Query().Get("path"))
	if herr != nil {
		h.fail(w, r, herr)
		return
	}

	// Stat as the agent first, as envd does, so that a directory or a
	// missing file get their own answer whatever the user may read.
	fi, err := os.Stat(path)
	if err != nil {
		h.fail(w, r, fsError(err, "read", path))
		return
	}
	if herr := checkRegular(fi, path); herr != nil {
		h.fail(w, r, herr)
		return
	}
	f, err := openAs(u, path)
	if errors.Is(err, errNoIdentity) {
		// envd reads every file as root; do the same rather than fail
		// every download where the kernel refuses the switch.
		h.log.Warn("reading file as the agent, not as the user", slog.String("user", u.Name), slog.Any("error", err))
		f, err = openFile(path)
	}
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			h.fail(w, r, errorf(http.StatusForbidden, err, "user %q may not read %s", u.Name, path))
			return
		}
		h.fail(w, r, fsError(err, "read", path))
		return
	}
	defer f.Close()
	// The file may have been replaced between the stat and the open.
	if fi, err = f.Stat(); err != nil {
		h.fail(w, r, fsError(err, "read", path))
		return
	}
	if herr := checkRegular(fi, path); herr != nil {
		h.fail(w, r, herr)
		return
	}

	hd := w.Header()
	hd.Set("Content-Type", "application/octet-stream")
	if cd := mime.FormatMediaType("attachment", map[string]string{"filename": filepath.Base(path)}); cd != "" {
		hd.Set("Content-Disposition", cd)
	} else {
		hd.Set("Content-Disposition", "attachment")
	}
	hd.Set("Vary", "Accept-Encoding")

	// A range or a conditional request is answered from the file as it is
	// on disk (206, 304): Accept-Encoding is only a preference.
	partial := r.Header.Get("Range") != "" || r.Header.Get("If-Range") != "" ||
		r.Header.Get("If-Modified-Since") != "" || r.Header.Get("If-None-Match") != ""
	if partial || !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		http.ServeContent(w, r, path, fi.ModTime(), f)
		return
	}

	hd.Set("Content-Encoding", "gzip")
	hd.Set("Last-Modified", fi.ModTime().UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	// Headers are sent: a failure from here on can only cut the stream,
	// which the client sees as a truncated gzip member.
	out := newChunkWriter(w)
	defer out.release()
	gz := newGzipWriter(out)
	defer gzips.Put(gz)
	if _, err := copyFull(gz, f); err != nil {
		h.log.Warn("gzip download cut short", slog.String("path", path), slog.Any("error", err))
		return
	}
	if err := gz.Close(); err != nil {
		h.log.Warn("gzip download cut short", slog.String("path", path), slog.Any("error", err))
		return
	}
	if err := out.Flush(); err != nil {
		h.log.Warn("gzip download cut short", slog.String("path", path), slog.Any("error", err))
	}
}

// checkRegular refuses what a download cannot stream: directories, and
// devices, FIFOs and sockets, which never end or block.
func checkRegular(fi os.FileInfo, path string) *httpError {
	switch {
	case fi.IsDir():
		return errorf(http.StatusBadRequest, nil, "path %s is a directory, not a file: list it with the filesystem service", path)
	case !fi.Mode().IsRegular():
		return errorf(http.StatusBadRequest, nil, "path %s is not a regular file (%s)", path, fi.Mode().Type())
	}
	return nil
}

// acceptsGzip reports whether an Accept-Encoding header names gzip with a
// non-zero quality.
func acceptsGzip(header string) bool {
	for _, item := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(item, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "x-gzip" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		return q > 0
	}
	return false
}
