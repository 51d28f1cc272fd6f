package files

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/soulbox/soulbox/internal/agent/timing"
	"github.com/soulbox/soulbox/internal/agent/users"
)

// Modes of what an upload creates, whatever the agent's umask.
const (
	fileMode = 0o644
	dirMode  = 0o755
)

// upload serves POST /files: an application/octet-stream body written to
// path, or a multipart/form-data body whose parts named "file" are written
// to path (one part) or to their file names. Content-Encoding: gzip covers
// either body.
//
// Every file is written to a temporary file next to its destination and
// renamed into place once the whole body has been read: a request that
// fails half-way (a malformed or truncated body, a client gone, a full
// disk) leaves neither a partial file nor a temporary one, nor the
// directories it created.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	if err := h.authorize(r, opWrite); err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.user(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	md, herr := metadataOf(r.Header)
	if herr != nil {
		h.fail(w, r, herr)
		return
	}
	ct := r.Header.Get("Content-Type")
	mediaType, params, herr := contentType(ct)
	if herr != nil {
		h.fail(w, r, herr)
		return
	}
	in := newBodyReader(r.Body)
	defer in.release()
	body, herr := decodedBody(r, in)
	if herr != nil {
		h.fail(w, r, herr)
		return
	}
	defer body.Close()

	began := time.Now()
	up := &upload{h: h, u: u, md: md}
	defer up.abort()
	herr = eachFile(mediaType, params, r.URL.Query().Get("path"), body, func(name string, src io.Reader) *httpError {
		dst, herr := resolve(u, name)
		if herr != nil {
			return herr
		}
		return up.stage(r.Context(), dst, src)
	})
	if herr == nil {
		herr = up.commit(r.Context())
	}
	if herr != nil {
		h.fail(w, r, herr)
		return
	}
	entries := make([]Entry, 0, len(up.files))
	for _, f := range up.files {
		entries = append(entries, f.entry)
	}
	if timing.Traced(r.Header) {
		timing.Add(w.Header(), timing.FilesWrite, began, time.Now())
	}
	writeJSON(w, http.StatusOK, entries)
}

// decodedBody is the request body, read through in, gunzipped under
// Content-Encoding: gzip.
func decodedBody(r *http.Request, in *bodyReader) (io.ReadCloser, *httpError) {
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity":
		return io.NopCloser(in), nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(in)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, err, "the body is not valid gzip although Content-Encoding says gzip")
		}
		return zr, nil
	default:
		return nil, errorf(http.StatusBadRequest, nil, "unsupported Content-Encoding %q: send gzip or no encoding", enc)
	}
}

// upload is one POST /files request: the files it has written so far, not
// yet in place, and the directories it created for them.
type upload struct {
	h     *Handler
	u     users.User
	md    map[string]string
	files []staged
	dirs  []string // created, parents first
	done  bool
}

// staged is a file written to tmp and waiting to be renamed to target.
type staged struct {
	tmp    string // "" once renamed
	target string // the path, or the file it links to
	dev    uint64
	ino    uint64
	size   int64
	entry  Entry
}

// stage writes src to a temporary file beside dst, owned by the user.
func (up *upload) stage(ctx context.Context, dst string, src io.Reader) *httpError {
	for _, f := range up.files {
		if f.entry.Path == dst {
			return errorf(http.StatusBadRequest, nil, "the request writes %s twice: send each destination once", dst)
		}
	}
	target, mode, herr := destination(dst)
	if herr != nil {
		return herr
	}
	dir := filepath.Dir(target)
	if herr := up.mkdirs(dir); herr != nil {
		return herr
	}
	tmp, err := os.CreateTemp(dir, TempPrefix+"*")
	if errors.Is(err, fs.ErrNotExist) {
		// A concurrent failed upload removed a directory it had
		// created and this one found: create it again.
		if herr := up.mkdirs(dir); herr != nil {
			return herr
		}
		tmp, err = os.CreateTemp(dir, TempPrefix+"*")
	}
	if err != nil {
		return fsError(err, "create", dst)
	}
	up.files = append(up.files, staged{tmp: tmp.Name(), target: target,
		entry: Entry{Path: dst, Name: filepath.Base(dst), Type: "file"}})
	sf := &up.files[len(up.files)-1]
	herr = up.fill(ctx, tmp, sf, mode, src)
	if err := tmp.Close(); err != nil && herr == nil {
		herr = fsError(err, "write", dst)
	}
	return herr
}

// destination is where a write to dst goes: dst itself, or the file it
// links to, since envd writes through symbolic links. An existing file
// keeps its permission bits, as it would with an in-place write.
func destination(dst string) (string, os.FileMode, *httpError) {
	target := dst
	if fi, err := os.Lstat(dst); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if t, err := filepath.EvalSymlinks(dst); err == nil {
			target = t
		}
		// A dangling link is replaced by the file.
	}
	fi, err := os.Stat(target)
	switch {
	case err == nil && fi.IsDir():
		return "", 0, errorf(http.StatusBadRequest, nil, "path %s is a directory: pass the path of a file inside it", dst)
	case err == nil && !fi.Mode().IsRegular():
		return "", 0, errorf(http.StatusBadRequest, nil, "path %s is not a regular file (%s)", dst, fi.Mode().Type())
	case err == nil:
		return target, fi.Mode().Perm(), nil
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		// Missing, or under a file: mkdirs says which component.
		return target, fileMode, nil
	default:
		return "", 0, fsError(err, "write", dst)
	}
}

// fill gives tmp its owner, mode and metadata and copies src into it.
func (up *upload) fill(ctx context.Context, tmp *os.File, sf *staged, mode os.FileMode, src io.Reader) *httpError {
	dst := sf.entry.Path
	if err := tmp.Chown(int(up.u.UID), int(up.u.GID)); err != nil {
		return fsError(err, "give to its user", dst)
	}
	if err := tmp.Chmod(mode); err != nil {
		return fsError(err, "set the mode of", dst)
	}
	rec := &readRecorder{r: src}
	n, err := copyFull(tmp, rec)
	switch {
	case ctx.Err() != nil:
		return errorf(http.StatusBadRequest, context.Cause(ctx), "upload of %s cancelled", dst)
	case rec.err != nil:
		return errorf(http.StatusBadRequest, rec.err, "the upload body of %s is malformed or ended early", dst)
	case err != nil:
		return fsError(err, "write", dst)
	}
	sf.size = n
	if len(up.md) > 0 {
		ok, err := writeMetadata(tmp, up.md)
		if err != nil {
			return fsError(err, "store the metadata of", dst)
		}
		if ok {
			sf.entry.Metadata = up.md
		} else {
			up.h.log.Warn("file system keeps no extended attributes: metadata not stored", slog.String("path", dst))
		}
	}
	fi, err := tmp.Stat()
	if err != nil {
		return fsError(err, "write", dst)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		sf.dev, sf.ino = uint64(st.Dev), st.Ino
	}
	return nil
}

// readRecorder remembers the error of its reader, so that a failed copy
// tells a bad body (the client's fault) from a failed write (the agent's).
type readRecorder struct {
	r   io.Reader
	err error
}

func (rr *readRecorder) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if err != nil && err != io.EOF {
		rr.err = err
	}
	return n, err
}

// mkdirs creates dir and its missing parents, owned by the user, and
// remembers them for abort.
func (up *upload) mkdirs(dir string) *httpError {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return errorf(http.StatusBadRequest, nil, "%s is a file, not a directory: it cannot hold the uploaded file", d)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return fsError(err, "create directory", d)
		}
		if d == "/" || d == "." {
			return fsError(err, "create directory", d)
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		if err := os.Mkdir(d, dirMode); err != nil {
			if fi, serr := os.Stat(d); serr == nil && fi.IsDir() {
				continue // created meanwhile by someone else
			}
			return fsError(err, "create directory", d)
		}
		up.dirs = append(up.dirs, d)
		if err := os.Chmod(d, dirMode); err != nil {
			return fsError(err, "set the mode of directory", d)
		}
		if err := os.Lchown(d, int(up.u.UID), int(up.u.GID)); err != nil {
			return fsError(err, "give to its user directory", d)
		}
	}
	return nil
}

// commit renames every staged file into place.
func (up *upload) commit(ctx context.Context) *httpError {
	if ctx.Err() != nil {
		return errorf(http.StatusBadRequest, context.Cause(ctx), "upload cancelled")
	}
	for i := range up.files {
		f := &up.files[i]
		if err := os.Rename(f.tmp, f.target); err != nil {
			return fsError(err, "write", f.entry.Path)
		}
		f.tmp = ""
		markWritten(f)
	}
	up.done = true
	return nil
}

// markWritten makes the file report a write where it now is. A rename
// shows in a directory watch as the creation of the new name, but E2B's
// clients wait for a write event on it, which an in-place write (envd's
// way) gives: truncating the file to its own size is one, and changes
// nothing else. Best effort.
func markWritten(f *staged) {
	fd, err := os.OpenFile(f.target, os.O_WRONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return
	}
	defer fd.Close()
	fi, err := fd.Stat()
	if err != nil {
		return
	}
	// Only our file: it may have been replaced since the rename.
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || uint64(st.Dev) != f.dev || st.Ino != f.ino || fi.Size() != f.size {
		return
	}
	_ = fd.Truncate(f.size)
}

// abort removes what a failed upload left: its temporary files and the
// directories it created, deepest first, when they are empty.
func (up *upload) abort() {
	if up.done {
		return
	}
	for _, f := range up.files {
		if f.tmp != "" {
			_ = os.Remove(f.tmp)
		}
	}
	for i := len(up.dirs) - 1; i >= 0; i-- {
		_ = os.Remove(up.dirs[i])
	}
}
