package files

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/soulbox/soulbox/internal/agent/state"
	"github.com/soulbox/soulbox/internal/agent/users"
)

// env is an agent's /files endpoint over a temporary home.
type env struct {
	t      *testing.T
	root   string // temporary directory holding everything
	home   string
	user   users.User // the default user, "tester"
	st     *state.State
	srv    *httptest.Server
	client *http.Client
	served chan struct{} // one value per request the handler finished
}

// testUID is the test user's uid when the tests run as root; otherwise the
// test user is the one running the tests.
const testUID = 4321

// newHome makes a temporary root holding the home of the test user
// "tester", and an agent state whose default user it is.
func newHome(tb testing.TB) (root, home string, st *state.State) {
	tb.Helper()
	root = tb.TempDir()
	// TempDir's directories are 0700: the test user must pass them.
	for _, d := range []string{root, filepath.Dir(root)} {
		if err := os.Chmod(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	uid, gid := testUID, testUID
	if os.Geteuid() != 0 {
		uid, gid = os.Getuid(), os.Getgid()
	}
	home = filepath.Join(root, "home", "tester")
	if err := os.MkdirAll(home, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chown(home, uid, gid); err != nil {
		tb.Fatal(err)
	}
	passwd := filepath.Join(root, "passwd")
	group := filepath.Join(root, "group")
	for p, data := range map[string]string{
		passwd: fmt.Sprintf("root:x:0:0:root:/root:/bin/sh\ntester:x:%d:%d::%s:/bin/sh\n", uid, gid, home),
		group:  fmt.Sprintf("root:x:0:\ntester:x:%d:\nextra:x:5555:tester\n", gid),
	} {
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	st = state.New(nil, users.Files{Passwd: passwd, Group: group})
	name := "tester"
	st.Apply(state.Init{DefaultUser: &name})
	return root, home, st
}

func newEnv(t *testing.T) *env {
	t.Helper()
	root, home, st := newHome(t)
	u, err := st.User("")
	if err != nil {
		t.Fatal(err)
	}

	e := &env{t: t, root: root, home: home, user: u, st: st, served: make(chan struct{}, 64)}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	h := New(st, log)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { e.served <- struct{}{} }()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	// No transparent gzip: the tests look at what the agent sends.
	e.client = &http.Client{Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(e.client.CloseIdleConnections)
	return e
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// url is the /files URL with query q ("k", "v", ...).
func (e *env) url(q ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(q); i += 2 {
		v.Set(q[i], q[i+1])
	}
	return e.srv.URL + "/files?" + v.Encode()
}

// do sends req and returns the response with its whole body.
func (e *env) do(req *http.Request) (*http.Response, []byte) {
	e.t.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, body
}

func (e *env) get(u string, header ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.do(req)
}

func (e *env) post(u, contentType string, body io.Reader, header ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.do(req)
}

// upload writes data to path with an octet-stream body and wants 200.
func (e *env) upload(path, data string, q ...string) []Entry {
	e.t.Helper()
	resp, body := e.post(e.url(append([]string{"path", path}, q...)...), "application/octet-stream", strings.NewReader(data))
	return wantEntries(e.t, resp, body)
}

func wantEntries(t *testing.T, resp *http.Response, body []byte) []Entry {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var entries []Entry
	if err := json.Unmarshal(body, &entries); err != nil {
		t.Fatalf("response %s: %v", body, err)
	}
	return entries
}

// wantError checks an envd error: status, JSON body {"code", "message"},
// and a message containing each of contains.
func wantError(t *testing.T, resp *http.Response, body []byte, status int, contains ...string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var eb map[string]any
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	if len(eb) != 2 {
		t.Errorf("error body %s has fields other than code and message", body)
	}
	if code, _ := eb["code"].(float64); int(code) != status {
		t.Errorf("error body code %v, want %d", eb["code"], status)
	}
	msg, _ := eb["message"].(string)
	if msg == "" {
		t.Errorf("error body %s has no message", body)
	}
	for _, c := range contains {
		if !strings.Contains(msg, c) {
			t.Errorf("message %q does not say %q", msg, c)
		}
	}
}

// form builds a multipart body of "file" parts: name, content, name, ...
func form(t *testing.T, files ...string) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		w, err := mw.CreateFormFile("file", files[i])
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, files[i+1])
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), &buf
}

// leftovers lists the upload's temporary files under dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".soulbox-upload-") {
			found = append(found, p)
		}
		return nil
	})
	return found
}

// tree lists everything under dir, to check that a request changed nothing.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		info, _ := d.Info()
		fmt.Fprintf(&b, "%s %v %d\n", p, info.Mode(), info.Size())
		return nil
	})
	return b.String()
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodDelete, e.url("path", "x"), nil)
	resp, body := e.do(req)
	wantError(t, resp, body, http.StatusMethodNotAllowed, "DELETE")
	if resp.Header.Get("Allow") == "" {
		t.Error("405 without Allow")
	}
}

func TestUnknownUser(t *testing.T) {
	e := newEnv(t)
	writeFile(t, filepath.Join(e.home, "f"), "x")
	resp, body := e.get(e.url("path", "f", "username", "nobody"))
	wantError(t, resp, body, http.StatusUnauthorized, `"nobody"`)
	before := tree(t, e.root)
	resp, body = e.post(e.url("path", "g", "username", "nobody"), "application/octet-stream", strings.NewReader("x"))
	wantError(t, resp, body, http.StatusUnauthorized, `"nobody"`)
	if after := tree(t, e.root); after != before {
		t.Errorf("a refused upload changed the tree:\n%s\n%s", before, after)
	}
}

func TestResolve(t *testing.T) {
	u := users.User{Name: "u", Home: "/home/u"}
	for in, want := range map[string]string{
		"a.txt":       "/home/u/a.txt",
		"dir/../b":    "/home/u/b",
		"/etc/hosts":  "/etc/hosts",
		"/a/../b//c/": "/b/c",
		"~":           "/home/u",
		"~/x":         "/home/u/x",
		"../../../x":  "/x",
	} {
		got, err := resolve(u, in)
		if err != nil || got != want {
			t.Errorf("resolve(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "~root/x", "a\x00b"} {
		if _, err := resolve(u, bad); err == nil || err.status != http.StatusBadRequest {
			t.Errorf("resolve(%q) = %v, want a 400", bad, err)
		}
	}
}

func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }
