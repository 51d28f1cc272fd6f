package files

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/soulbox/soulbox/internal/testutil"
)

func TestUploadDownloadRoundTrip(t *testing.T) {
	e := newEnv(t)
	entries := e.upload("notes/hello.txt", "hello, sandbox")
	want := filepath.Join(e.home, "notes", "hello.txt")
	if len(entries) != 1 || entries[0].Path != want || entries[0].Name != "hello.txt" || entries[0].Type != "file" {
		t.Fatalf("entries %+v, want one file %s", entries, want)
	}

	for _, path := range []string{"notes/hello.txt", want, "~/notes/hello.txt"} {
		resp, body := e.get(e.url("path", path))
		if resp.StatusCode != http.StatusOK || string(body) != "hello, sandbox" {
			t.Fatalf("GET %s: %d %q", path, resp.StatusCode, body)
		}
		for k, v := range map[string]string{
			"Content-Type":        "application/octet-stream",
			"Content-Disposition": "attachment; filename=hello.txt",
			"Content-Length":      strconv.Itoa(len("hello, sandbox")),
		} {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %q, want %q", k, got, v)
			}
		}
	}

	// HEAD answers the headers alone.
	req, _ := http.NewRequest(http.MethodHead, e.url("path", "notes/hello.txt"), nil)
	resp, body := e.do(req)
	if resp.StatusCode != http.StatusOK || len(body) != 0 || resp.ContentLength != int64(len("hello, sandbox")) {
		t.Errorf("HEAD: %d, %d bytes, length %d", resp.StatusCode, len(body), resp.ContentLength)
	}
}

func TestDownloadGzip(t *testing.T) {
	e := newEnv(t)
	data := bytes.Repeat([]byte("compress me "), 1000)
	writeFile(t, filepath.Join(e.home, "big.txt"), string(data))

	resp, body := e.get(e.url("path", "big.txt"), "Accept-Encoding", "br;q=1, gzip;q=0.8")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("status %d, Content-Encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	if resp.Header.Get("Content-Type") != "application/octet-stream" || resp.Header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("headers %v", resp.Header)
	}
	if len(body) >= len(data) {
		t.Errorf("gzip body of %d bytes for %d bytes of text", len(body), len(data))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("gunzipped %d bytes, %v; want the file's %d", len(got), err, len(data))
	}

	// gzip;q=0 refuses it; a range is served from the file as it is.
	for _, hdr := range [][]string{
		{"Accept-Encoding", "gzip;q=0"},
		{"Accept-Encoding", "gzip", "Range", "bytes=0-9"},
	} {
		resp, body := e.get(e.url("path", "big.txt"), hdr...)
		if resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("%v: Content-Encoding %q", hdr, resp.Header.Get("Content-Encoding"))
		}
		if !bytes.HasPrefix(data, body) || len(body) == 0 {
			t.Errorf("%v: body %q", hdr, body)
		}
	}
}

func TestDownloadRange(t *testing.T) {
	e := newEnv(t)
	writeFile(t, filepath.Join(e.home, "digits"), "0123456789")
	resp, body := e.get(e.url("path", "digits"), "Range", "bytes=2-5")
	if resp.StatusCode != http.StatusPartialContent || string(body) != "2345" {
		t.Fatalf("range: %d %q", resp.StatusCode, body)
	}
	if cr := resp.Header.Get("Content-Range"); cr != "bytes 2-5/10" {
		t.Errorf("Content-Range %q", cr)
	}
	resp, body = e.get(e.url("path", "digits"), "Range", "bytes=7-")
	if resp.StatusCode != http.StatusPartialContent || string(body) != "789" {
		t.Errorf("open range: %d %q", resp.StatusCode, body)
	}
	// A conditional request gets 304 once the file is unchanged.
	lm := resp.Header.Get("Last-Modified")
	resp, _ = e.get(e.url("path", "digits"), "If-Modified-Since", lm)
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-Modified-Since %s: %d", lm, resp.StatusCode)
	}
}

func TestDownloadErrors(t *testing.T) {
	e := newEnv(t)
	writeFile(t, filepath.Join(e.home, "file"), "x")
	if err := os.Mkdir(filepath.Join(e.home, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		query  []string
		status int
		says   string
	}{
		{"missing file", []string{"path", "nope.txt"}, http.StatusNotFound, "does not exist"},
		{"missing directory", []string{"path", "no/such/file"}, http.StatusNotFound, "does not exist"},
		{"under a file", []string{"path", "file/x"}, http.StatusBadRequest, "not a directory"},
		{"directory", []string{"path", "dir"}, http.StatusBadRequest, "is a directory"},
		{"no path", nil, http.StatusBadRequest, "path is required"},
		{"empty path", []string{"path", ""}, http.StatusBadRequest, "path is required"},
		{"device", []string{"path", "/dev/null"}, http.StatusBadRequest, "not a regular file"},
		{"other home", []string{"path", "~root/x"}, http.StatusBadRequest, "~"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.get(e.url(tc.query...))
			wantError(t, resp, body, tc.status, tc.says)
			if resp.Header.Get("Content-Disposition") != "" {
				t.Error("an error carries Content-Disposition")
			}
		})
	}
}

// TestDownloadAsUser checks that a download has the user's permissions:
// the agent is root, the user is not.
func TestDownloadAsUser(t *testing.T) {
	testutil.RequiresRoot(t)
	e := newEnv(t)
	secret := filepath.Join(e.root, "secret")
	writeFile(t, secret, "root only")
	if err := os.Chmod(secret, 0o600); err != nil {
		t.Fatal(err)
	}
	locked := filepath.Join(e.root, "locked")
	writeFile(t, filepath.Join(locked, "inside"), "behind a closed directory")
	if err := os.Chmod(locked, 0o700); err != nil {
		t.Fatal(err)
	}
	group := filepath.Join(e.root, "group-only")
	writeFile(t, group, "for group extra")
	if err := os.Chown(group, 0, 5555); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(group, 0o640); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		path, user string
		status     int
	}{
		{secret, "", http.StatusForbidden},
		{secret, "tester", http.StatusForbidden},
		{secret, "root", http.StatusOK},
		{filepath.Join(locked, "inside"), "tester", http.StatusForbidden},
		{filepath.Join(locked, "inside"), "root", http.StatusOK},
		{group, "tester", http.StatusOK}, // through the supplementary group
	} {
		q := []string{"path", tc.path}
		if tc.user != "" {
			q = append(q, "username", tc.user)
		}
		resp, body := e.get(e.url(q...))
		if tc.status == http.StatusOK {
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s as %q: %d %s", tc.path, tc.user, resp.StatusCode, body)
			}
			continue
		}
		wantError(t, resp, body, tc.status, "tester", tc.path)
	}

	// The Basic authorization user counts when username is absent.
	req, _ := http.NewRequest(http.MethodGet, e.url("path", secret), nil)
	req.SetBasicAuth("root", "")
	if resp, body := e.do(req); resp.StatusCode != http.StatusOK || string(body) != "root only" {
		t.Errorf("as Basic root: %d %q", resp.StatusCode, body)
	}
}
