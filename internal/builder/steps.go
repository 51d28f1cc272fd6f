package builder

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/layer"
	"github.com/soulbox/soulbox/internal/runtime"
)

// tailLines is how many last lines of a failed step's output its error
// carries.
const tailLines = 10

// cacheLookup returns the digest for k and whether it is cached; a forced
// step gets a fresh digest so the layers it replaces stay intact for the
// templates that use them.
func (n *Node) cacheLookup(k string, force bool, buildID string) (string, bool) {
	if !force && n.layers.Has(k) {
		return k, true
	}
	if force {
		return key(k, "forced", buildID), false
	}
	return k, false
}

// workdir makes sure the working directory exists, owned by the current
// user, in a layer of its own when the template lacks it.
func (n *Node) workdir(stack []string, parent string, set Settings, force bool) (string, bool, error) {
	if _, fi, ok := lookupInStack(stack, set.Workdir); ok {
		if !fi.IsDir() {
			return "", false, fmt.Errorf("WORKDIR %s exists and is not a directory: %w", set.Workdir, errdefs.ErrInvalidArgument)
		}
		return "", false, nil
	}
	uid, gid, err := lookupOwner(stack, set.User)
	if err != nil {
		return "", false, err
	}
	digest, cached := n.cacheLookup(key(parent, "WORKDIR", set.Workdir, set.User), force, "")
	if cached {
		return digest, true, nil
	}
	err = n.layers.Install(digest, func(dir string) error {
		return mkdirAllIn(dir, stack, set.Workdir, uid, gid)
	})
	return digest, false, err
}

// runStep runs a RUN step's command in a build sandbox on stack and keeps
// what it changed as a layer.
func (n *Node) runStep(ctx context.Context, req Request, stack []string, parent string, st Step, set Settings, force bool, step string, log Log) (string, bool, error) {
	if len(st.Args) < 1 || len(st.Args) > 2 || strings.TrimSpace(st.Args[0]) == "" {
		return "", false, fmt.Errorf("RUN takes a command and optionally a user: %w", errdefs.ErrInvalidArgument)
	}
	user := set.User
	if len(st.Args) == 2 && st.Args[1] != "" {
		user = st.Args[1]
	}
	if _, _, err := lookupOwner(stack, user); err != nil {
		return "", false, err
	}
	k := key(append([]string{parent, "RUN", st.Args[0], user, set.Workdir}, envList(set.Env)...)...)
	digest, cached := n.cacheLookup(k, force, req.ID)
	if cached {
		return digest, true, nil
	}
	id, err := sandboxID()
	if err != nil {
		return "", false, err
	}
	name := stackPrefix + id
	n.stacks.add(name, stack)
	defer n.stacks.remove(name)
	defer func() {
		if err := n.driver.Destroy(context.WithoutCancel(ctx), id); err != nil && !errdefs.IsNotFound(err) {
			n.log.Error("destroy build sandbox", "sandbox.id", id, "error", err)
		}
	}()
	if _, err := n.driver.Create(ctx, runtime.Spec{ID: id, Template: name, Limits: req.Limits}); err != nil {
		return "", false, fmt.Errorf("build sandbox: %w", err)
	}
	if err := n.driver.Start(ctx, id); err != nil {
		return "", false, fmt.Errorf("build sandbox: %w", err)
	}
	// Exec kills the step's shell when ctx ends, but what the shell
	// started keeps the output open and Exec waiting: a timeout or a
	// cancel stops the whole build sandbox instead.
	execDone := make(chan struct{})
	defer close(execDone)
	go func() {
		select {
		case <-ctx.Done():
			if err := n.driver.Stop(context.WithoutCancel(ctx), id); err != nil {
				n.log.Warn("stop build sandbox", "sandbox.id", id, "error", err)
			}
		case <-execDone:
		}
	}()
	out := &stepOutput{log: log, step: step}
	script := st.Args[0]
	if set.Workdir != "" {
		script = "cd " + shellQuote(set.Workdir) + " && " + script
	}
	res, err := n.driver.Exec(ctx, id, runtime.ExecRequest{
		Args: []string{"/bin/sh", "-c", script}, Env: envList(set.Env), User: user,
		Stdout: out, Stderr: out,
	})
	out.flush()
	if err != nil {
		return "", false, fmt.Errorf("run %q: %w", st.Args[0], causeOf(ctx, err))
	}
	if res.ExitCode != 0 {
		return "", false, &StepError{ExitCode: res.ExitCode, Tail: out.tail(), Err: fmt.Errorf("command exited with code %d: %w", res.ExitCode, errdefs.ErrFailedPrecondition)}
	}
	if err := n.driver.Stop(ctx, id); err != nil {
		return "", false, fmt.Errorf("stop build sandbox: %w", err)
	}
	upper, hostUID, err := n.driver.WritableLayer(ctx, id)
	if err != nil {
		return "", false, err
	}
	err = n.layers.Install(digest, func(dir string) error { return capture(upper, dir, hostUID) })
	return digest, false, err
}

// copyStep unpacks the files uploaded for a COPY step into a layer.
// Args are E2B's: source, destination, owner (may be empty: the current
// user), mode (octal, may be empty: as uploaded).
func (n *Node) copyStep(ctx context.Context, req Request, stack []string, parent string, st Step, set Settings, force bool) (string, bool, error) {
	if len(st.Args) < 2 || st.Args[0] == "" || st.Args[1] == "" {
		return "", false, fmt.Errorf("COPY takes a source and a destination: %w", errdefs.ErrInvalidArgument)
	}
	if st.FilesHash == "" {
		return "", false, fmt.Errorf("COPY %s: filesHash is required: %w", st.Args[0], errdefs.ErrInvalidArgument)
	}
	src, dest := path.Clean(strings.TrimPrefix(st.Args[0], "./")), st.Args[1]
	if !path.IsAbs(dest) {
		base := set.Workdir
		if base == "" {
			base = "/"
		}
		dest = path.Join(base, dest) + map[bool]string{true: "/"}[strings.HasSuffix(st.Args[1], "/")]
	}
	owner := set.User
	if len(st.Args) > 2 && st.Args[2] != "" {
		owner = st.Args[2]
	}
	uid, gid, err := lookupOwner(stack, owner)
	if err != nil {
		return "", false, err
	}
	var mode int64 = -1
	if len(st.Args) > 3 && st.Args[3] != "" {
		if mode, err = strconv.ParseInt(st.Args[3], 8, 32); err != nil || mode < 0 || mode > 0o7777 {
			return "", false, fmt.Errorf("COPY mode %q: want octal such as 0644: %w", st.Args[3], errdefs.ErrInvalidArgument)
		}
	}
	// The files hash is the client's name for the files, not a digest of
	// them the server can check, and the layer store is shared by every
	// team: the cache key is the SHA-256 of the archive this build will
	// unpack, so another team's upload under the same hash, with other
	// files, never serves this build.
	rc, sum, err := openFiles(req, st.FilesHash)
	if err != nil {
		return "", false, err
	}
	defer rc.Close()
	k := key(parent, "COPY", src, dest, owner, strconv.FormatInt(mode, 8), st.FilesHash, sum)
	digest, cached := n.cacheLookup(k, force, req.ID)
	if cached {
		return digest, true, nil
	}
	err = n.layers.Install(digest, func(dir string) error {
		r, err := maybeGunzip(rc)
		if err != nil {
			return err
		}
		destDir := strings.HasSuffix(dest, "/")
		destClean := strings.TrimPrefix(path.Clean(dest), "/")
		matched := false
		rename := func(name string, isDir bool) (string, bool) {
			var out string
			switch {
			case name == src && isDir:
				out = destClean
			case name == src && destDir:
				out = path.Join(destClean, path.Base(name))
			case name == src:
				out = destClean
			case strings.HasPrefix(name, src+"/"):
				out = path.Join(destClean, strings.TrimPrefix(name, src+"/"))
			case src == ".":
				out = path.Join(destClean, name)
			default:
				if ok, _ := path.Match(src, name); ok {
					out = path.Join(destClean, path.Base(name))
				} else {
					return "", false
				}
			}
			matched = true
			if out == "" {
				out = "."
			}
			return out, true
		}
		if err := mkdirAllIn(dir, stack, path.Dir("/"+destClean), uid, gid); err != nil {
			return err
		}
		if err := layer.Unpack(r, dir, layer.UnpackOptions{Rename: rename, Owner: &[2]int{uid, gid}, Mode: mode}); err != nil {
			return fmt.Errorf("COPY %s: %w", st.Args[0], err)
		}
		if !matched {
			return fmt.Errorf("COPY %s: the uploaded files hold nothing under %q: %w", st.Args[0], src, errdefs.ErrInvalidArgument)
		}
		// Read to the end, so the archive is checked against its hash.
		if _, err := io.Copy(io.Discard, rc); err != nil {
			return fmt.Errorf("COPY %s: %w", st.Args[0], err)
		}
		return ctx.Err()
	})
	return digest, false, err
}

// openFiles opens the archive uploaded for hash and returns it, positioned
// at its start, with the hex SHA-256 of its bytes.
func openFiles(req Request, hash string) (io.ReadCloser, string, error) {
	rc, err := req.Files(hash)
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		rc.Close()
		return nil, "", fmt.Errorf("read uploaded files %s: %w", hash, err)
	}
	sum := hexOf(h)
	if s, ok := rc.(io.Seeker); ok {
		if _, err := s.Seek(0, io.SeekStart); err != nil {
			rc.Close()
			return nil, "", fmt.Errorf("read uploaded files %s: %w", hash, err)
		}
		return rc, sum, nil
	}
	rc.Close()
	// Without a seek the archive is opened again, and must be the same.
	if rc, err = req.Files(hash); err != nil {
		return nil, "", err
	}
	return &checkedFiles{ReadCloser: rc, h: sha256.New(), want: sum}, sum, nil
}

// checkedFiles fails at the end of an archive that is not the one hashed.
type checkedFiles struct {
	io.ReadCloser
	h    hash.Hash
	want string
}

func (c *checkedFiles) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.h.Write(p[:n])
	if errors.Is(err, io.EOF) && hexOf(c.h) != c.want {
		return n, fmt.Errorf("the uploaded files changed while the build read them: %w", errdefs.ErrFailedPrecondition)
	}
	return n, err
}

// maybeGunzip decompresses r if it is gzipped; the SDK gzips by default.
func maybeGunzip(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(2)
	if bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("uploaded files: %v: %w", err, errdefs.ErrInvalidArgument)
		}
		return zr, nil
	}
	return br, nil
}

func sandboxID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "build-" + hex.EncodeToString(b), nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// MaxLogLine bounds one line of a RUN step's output in the build log: a
// step that prints without a newline is cut into lines of this size, so
// its output is never held whole. MaxStepLog bounds what one step puts
// in the log: past it the output is still read, its last lines kept for
// the error, but not logged, and one line says so.
const (
	MaxLogLine = 16 << 10
	MaxStepLog = 16 << 20
)

// stepOutput sends a RUN step's output to the build log line by line and
// keeps its last lines for the error.
type stepOutput struct {
	log    Log
	step   string
	mu     sync.Mutex
	buf    []byte
	last   []string
	logged int
	cut    bool
}

func (o *stepOutput) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf = append(o.buf, b...)
	for {
		i := bytes.IndexByte(o.buf, '\n')
		if i < 0 {
			break
		}
		o.line(string(o.buf[:i]))
		o.buf = o.buf[i+1:]
	}
	for len(o.buf) >= MaxLogLine {
		o.line(string(o.buf[:MaxLogLine]))
		o.buf = o.buf[MaxLogLine:]
	}
	return len(b), nil
}

func (o *stepOutput) line(l string) {
	l = Printable(strings.TrimRight(l, "\r"))
	o.last = append(o.last, l)
	if len(o.last) > tailLines {
		o.last = o.last[1:]
	}
	if o.cut {
		return
	}
	if o.logged += len(l); o.logged > MaxStepLog {
		o.cut = true
		o.log("warn", o.step, fmt.Sprintf("the step's output passed %d MiB: the rest of it is not logged", MaxStepLog>>20))
		return
	}
	o.log("info", o.step, l)
}

func (o *stepOutput) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.buf) > 0 {
		o.line(string(o.buf))
		o.buf = nil
	}
}

func (o *stepOutput) tail() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.last...)
}

// Printable is s as a build log or a failure reason may carry it: what a
// step printed is any bytes, and a store's text columns take valid UTF-8
// without NUL. Invalid sequences become U+FFFD; NUL bytes are dropped.
func Printable(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}
