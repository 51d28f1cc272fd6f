package files

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/testutil"
)

func gz(t *testing.T, data string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	io.WriteString(zw, data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestUploadGzip(t *testing.T) {
	e := newEnv(t)
	resp, body := e.post(e.url("path", "z.txt"), "application/octet-stream", bytes.NewReader(gz(t, "unzipped on arrival")),
		"Content-Encoding", "gzip")
	wantEntries(t, resp, body)
	if got := readFile(t, filepath.Join(e.home, "z.txt")); got != "unzipped on arrival" {
		t.Errorf("file holds %q", got)
	}

	// A gzipped multipart body too.
	ct, fb := form(t, "m.txt", "multipart in gzip")
	resp, body = e.post(e.url(), ct, bytes.NewReader(gz(t, fb.String())), "Content-Encoding", "gzip")
	wantEntries(t, resp, body)
	if got := readFile(t, filepath.Join(e.home, "m.txt")); got != "multipart in gzip" {
		t.Errorf("file holds %q", got)
	}
}

func TestUploadBadGzip(t *testing.T) {
	e := newEnv(t)
	writeFile(t, filepath.Join(e.home, "keep.txt"), "old content")
	before := tree(t, e.root)

	good := gz(t, strings.Repeat("some data ", 10000))
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)/2] ^= 0xff
	for name, body := range map[string][]byte{
		"not gzip":  []byte("plain text, not gzip"),
		"truncated": good[:len(good)/2],
		"corrupt":   corrupt,
	} {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"keep.txt", "new/dir/file.txt"} {
				resp, rb := e.post(e.url("path", path), "application/octet-stream", bytes.NewReader(body), "Content-Encoding", "gzip")
				wantError(t, resp, rb, http.StatusBadRequest)
				if after := tree(t, e.root); after != before {
					t.Errorf("a bad gzip upload to %s changed the tree:\n%s\n%s", path, before, after)
				}
			}
		})
	}
	if got := readFile(t, filepath.Join(e.home, "keep.txt")); got != "old content" {
		t.Errorf("the old file holds %q", got)
	}
}

func TestUploadMultipart(t *testing.T) {
	e := newEnv(t)
	abs := filepath.Join(e.root, "elsewhere", "abs.txt")
	ct, body := form(t,
		"a.txt", "first",
		"sub/dir/b.txt", "second",
		abs, "third",
		"~/c.txt", "fourth",
	)
	resp, rb := e.post(e.url(), ct, body)
	entries := wantEntries(t, resp, rb)
	want := []struct{ path, data string }{
		{filepath.Join(e.home, "a.txt"), "first"},
		{filepath.Join(e.home, "sub", "dir", "b.txt"), "second"},
		{abs, "third"},
		{filepath.Join(e.home, "c.txt"), "fourth"},
	}
	if len(entries) != len(want) {
		t.Fatalf("entries %+v", entries)
	}
	for i, w := range want {
		if entries[i].Path != w.path || entries[i].Name != filepath.Base(w.path) || entries[i].Type != "file" {
			t.Errorf("entry %d: %+v, want %s", i, entries[i], w.path)
		}
		if got := readFile(t, w.path); got != w.data {
			t.Errorf("%s holds %q, want %q", w.path, got, w.data)
		}
	}

	// With path, the single part goes there whatever its file name.
	ct, body = form(t, "ignored.txt", "by path")
	resp, rb = e.post(e.url("path", "named.txt"), ct, body)
	if entries := wantEntries(t, resp, rb); len(entries) != 1 || entries[0].Path != filepath.Join(e.home, "named.txt") {
		t.Errorf("entries %+v", entries)
	}
	if got := readFile(t, filepath.Join(e.home, "named.txt")); got != "by path" {
		t.Errorf("named.txt holds %q", got)
	}
	if _, err := os.Stat(filepath.Join(e.home, "ignored.txt")); err == nil {
		t.Error("the part's file name was used although path was given")
	}

	// Other fields are skipped.
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "--B\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nnot a file\r\n"+
		"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"only.txt\"\r\n\r\nthe file\r\n--B--\r\n")
	resp, rb = e.post(e.url(), "multipart/form-data; boundary=B", &buf)
	if entries := wantEntries(t, resp, rb); len(entries) != 1 || readFile(t, entries[0].Path) != "the file" {
		t.Errorf("entries %+v", entries)
	}
}

// TestUploadRefused checks requests that must fail and change nothing.
func TestUploadRefused(t *testing.T) {
	e := newEnv(t)
	writeFile(t, filepath.Join(e.home, "plain"), "a file")
	if err := os.Mkdir(filepath.Join(e.home, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	octet := "application/octet-stream"
	twoWithPath := func() (string, io.Reader) {
		ct, b := form(t, "x", "1", "y", "2")
		return ct, b
	}
	sameTwice := func() (string, io.Reader) {
		ct, b := form(t, "new/same", "1", "new/same", "2")
		return ct, b
	}
	noName := func() (string, io.Reader) {
		return "multipart/form-data; boundary=B", strings.NewReader(
			"--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\ndata\r\n--B--\r\n")
	}
	unterminated := func() (string, io.Reader) {
		ct, b := form(t, "new/first.txt", "complete", "new/second.txt", "cut")
		return ct, bytes.NewReader(b.Bytes()[:b.Len()-10])
	}
	fixed := func(ct, body string) func() (string, io.Reader) {
		return func() (string, io.Reader) { return ct, strings.NewReader(body) }
	}
	for _, tc := range []struct {
		name   string
		query  []string
		body   func() (string, io.Reader)
		header []string
		status int
		says   string
	}{
		{"no path", nil, fixed(octet, "x"), nil, http.StatusBadRequest, "path is required"},
		{"directory", []string{"path", "dir"}, fixed(octet, "x"), nil, http.StatusBadRequest, "is a directory"},
		{"under a file", []string{"path", "plain/x/y"}, fixed(octet, "x"), nil, http.StatusBadRequest, "not a directory"},
		{"no content type", []string{"path", "new/f"}, fixed("", "x"), nil, http.StatusBadRequest, "Content-Type"},
		{"other content type", []string{"path", "new/f"}, fixed("text/plain", "x"), nil, http.StatusBadRequest, "Content-Type"},
		{"bad content type", []string{"path", "new/f"}, fixed("multipart/form-data; boundary=\"", "x"), nil, http.StatusBadRequest, "Content-Type"},
		{"no boundary", nil, fixed("multipart/form-data", "x"), nil, http.StatusBadRequest, "boundary"},
		{"not multipart", nil, fixed("multipart/form-data; boundary=B", "just text"), nil, http.StatusBadRequest, "multipart"},
		{"unterminated multipart", nil, unterminated, nil, http.StatusBadRequest, ""},
		{"path and two parts", []string{"path", "new/one"}, twoWithPath, nil, http.StatusBadRequest, "several files"},
		{"same destination twice", nil, sameTwice, nil, http.StatusBadRequest, "twice"},
		{"part without file name", nil, noName, nil, http.StatusBadRequest, "file name"},
		{"unknown encoding", []string{"path", "new/f"}, fixed(octet, "x"), []string{"Content-Encoding", "br"}, http.StatusBadRequest, "Content-Encoding"},
		{"metadata not ASCII", []string{"path", "new/f"}, fixed(octet, "x"), []string{"X-Metadata-Who", "é"}, http.StatusBadRequest, "metadata"},
		{"metadata too large", []string{"path", "new/f"}, fixed(octet, "x"), []string{"X-Metadata-Big", strings.Repeat("v", 5000)}, http.StatusBadRequest, "metadata"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tree(t, e.root)
			ct, body := tc.body()
			resp, rb := e.post(e.url(tc.query...), ct, body, tc.header...)
			wantError(t, resp, rb, tc.status, tc.says)
			if after := tree(t, e.root); after != before {
				t.Errorf("the request changed the tree:\n%s\n%s", before, after)
			}
		})
	}
}

// rawPost sends the start of a POST by hand and hangs up: a client that
// goes away, or a body shorter than its Content-Length.
func (e *env) rawPost(query, contentType string, length int, partial string) {
	e.t.Helper()
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /files?%s HTTP/1.1\r\nHost: agent\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
		query, contentType, length, partial)
	conn.(*net.TCPConn).CloseWrite()
	// The agent may answer (400) or not; either way the request ends.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, bufio.NewReader(conn))
	conn.Close()
	select {
	case <-e.served:
	case <-time.After(10 * time.Second):
		e.t.Fatal("the agent did not finish the cut request")
	}
}

func TestUploadCutShort(t *testing.T) {
	e := newEnv(t)
	writeFile(t, filepath.Join(e.home, "existing.txt"), "old")
	before := tree(t, e.root)

	// An octet-stream body cut at half its length.
	e.rawPost("path=existing.txt", "application/octet-stream", 1<<20, strings.Repeat("n", 1<<19))
	e.rawPost("path=fresh%2Fdir%2Ffile", "application/octet-stream", 1<<20, strings.Repeat("n", 1<<19))

	// A multipart body whose first file is complete and second is cut.
	ct, body := form(t, "cut/one.txt", "complete", "cut/two.txt", strings.Repeat("t", 1<<16))
	e.rawPost("", ct, body.Len(), body.String()[:body.Len()-(1<<15)])

	if after := tree(t, e.root); after != before {
		t.Errorf("cut uploads changed the tree:\n%s\n%s", before, after)
	}
	if l := leftovers(t, e.root); len(l) > 0 {
		t.Errorf("temporary files left: %v", l)
	}
	if got := readFile(t, filepath.Join(e.home, "existing.txt")); got != "old" {
		t.Errorf("the file holds %d bytes, want the old content", len(got))
	}
}

func TestUploadMetadata(t *testing.T) {
	e := newEnv(t)
	resp, rb := e.post(e.url("path", "meta.txt"), "application/octet-stream", strings.NewReader("x"),
		"X-Metadata-Author", "mish", "x-metadata-Purpose", "upload test")
	entries := wantEntries(t, resp, rb)
	path := filepath.Join(e.home, "meta.txt")
	buf := make([]byte, 256)
	n, err := unix.Getxattr(path, "user.e2b.author", buf)
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) {
		t.Skipf("%s keeps no extended attributes", e.root)
	}
	if err != nil || string(buf[:n]) != "mish" {
		t.Fatalf("user.e2b.author = %q, %v", buf[:n], err)
	}
	n, err = unix.Getxattr(path, "user.e2b.purpose", buf)
	if err != nil || string(buf[:n]) != "upload test" {
		t.Errorf("user.e2b.purpose = %q, %v", buf[:n], err)
	}
	if md := entries[0].Metadata; md["author"] != "mish" || md["purpose"] != "upload test" || len(md) != 2 {
		t.Errorf("response metadata %v", md)
	}

	// Overwriting replaces the metadata set, as in envd.
	resp, rb = e.post(e.url("path", "meta.txt"), "application/octet-stream", strings.NewReader("y"), "X-Metadata-Author", "other")
	wantEntries(t, resp, rb)
	if n, err = unix.Getxattr(path, "user.e2b.author", buf); err != nil || string(buf[:n]) != "other" {
		t.Errorf("user.e2b.author = %q, %v after overwrite", buf[:n], err)
	}
	if _, err = unix.Getxattr(path, "user.e2b.purpose", buf); !errors.Is(err, unix.ENODATA) {
		t.Errorf("user.e2b.purpose survived the overwrite: %v", err)
	}

	// No metadata, no metadata field.
	resp, rb = e.post(e.url("path", "plain.txt"), "application/octet-stream", strings.NewReader("x"))
	wantEntries(t, resp, rb)
	if bytes.Contains(rb, []byte("metadata")) {
		t.Errorf("response %s has metadata", rb)
	}
}

func TestUploadOwnership(t *testing.T) {
	testutil.RequiresRoot(t)
	e := newEnv(t)
	e.upload("deep/er/file.txt", "mine")
	for path, mode := range map[string]os.FileMode{
		filepath.Join(e.home, "deep"):                   os.ModeDir | 0o755,
		filepath.Join(e.home, "deep", "er"):             os.ModeDir | 0o755,
		filepath.Join(e.home, "deep", "er", "file.txt"): 0o644,
	} {
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != testUID || st.Gid != testUID || fi.Mode() != mode {
			t.Errorf("%s: %d:%d %v, want %d:%d %v", path, st.Uid, st.Gid, fi.Mode(), testUID, testUID, mode)
		}
	}

	// An existing file is given to the user and keeps its mode.
	script := filepath.Join(e.root, "opt", "run.sh")
	writeFile(t, script, "old")
	if err := os.Chmod(script, 0o750); err != nil {
		t.Fatal(err)
	}
	e.upload(script, "#!/bin/sh\n")
	fi, _ := os.Stat(script)
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != testUID || fi.Mode() != 0o750 {
		t.Errorf("overwritten file: uid %d mode %v", st.Uid, fi.Mode())
	}

	// Parents that existed keep their owner.
	fi, _ = os.Stat(filepath.Join(e.root, "opt"))
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 {
		t.Errorf("an existing parent changed owner to %d", st.Uid)
	}

	// username=root, or the Basic authorization user, owns what it writes.
	e.upload("by-root.txt", "r", "username", "root")
	req, _ := http.NewRequest(http.MethodPost, e.url("path", filepath.Join(e.home, "by-basic.txt")), strings.NewReader("b"))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.SetBasicAuth("root", "")
	resp, rb := e.do(req)
	wantEntries(t, resp, rb)
	for _, p := range []string{"/root/by-root.txt", filepath.Join(e.home, "by-basic.txt")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Error(err)
			continue
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 {
			t.Errorf("%s: uid %d, want root's", p, st.Uid)
		}
	}
	os.Remove("/root/by-root.txt")
}

func TestUploadThroughSymlink(t *testing.T) {
	e := newEnv(t)
	target := filepath.Join(e.root, "real.txt")
	writeFile(t, target, "old")
	link := filepath.Join(e.home, "link.txt")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	entries := e.upload("link.txt", "new")
	if entries[0].Path != link {
		t.Errorf("entry path %s, want the requested %s", entries[0].Path, link)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi, err)
	}
	if got := readFile(t, target); got != "new" {
		t.Errorf("the link's target holds %q", got)
	}
}

// TestUploadWriteEvent checks that a directory watch sees a write of the
// uploaded file's own name, which E2B's clients wait for.
func TestUploadWriteEvent(t *testing.T) {
	e := newEnv(t)
	e.upload("watched.txt", "first")
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Skipf("inotify: %v", err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, e.home, unix.IN_MODIFY); err != nil {
		t.Fatal(err)
	}
	e.upload("watched.txt", "second")
	buf := make([]byte, 64<<10)
	var names []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EAGAIN) {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafePointer(buf[off:]))
			name := strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)]), "\x00")
			names = append(names, name)
			if name == "watched.txt" {
				return
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
	t.Errorf("no write event for watched.txt; saw %v", names)
}

// TestUploadNoSpace fills a small tmpfs: 507, and nothing left behind.
func TestUploadNoSpace(t *testing.T) {
	testutil.RequiresRoot(t)
	e := newEnv(t)
	mnt := filepath.Join(e.home, "small")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	before := tree(t, mnt)
	resp, rb := e.post(e.url("path", "small/sub/big.bin"), "application/octet-stream", bytes.NewReader(make([]byte, 4<<20)))
	wantError(t, resp, rb, http.StatusInsufficientStorage, "disk space")
	if after := tree(t, mnt); after != before {
		t.Errorf("a failed upload changed the tree:\n%s\n%s", before, after)
	}
	// The space is free again for a file that fits.
	e.upload("small/fits.bin", strings.Repeat("f", 512<<10))
}
