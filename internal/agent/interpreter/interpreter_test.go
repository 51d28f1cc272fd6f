package interpreter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/agent/reaper"
	"github.com/soulbox/soulbox/internal/agent/state"
	"github.com/soulbox/soulbox/internal/agent/users"
	"github.com/soulbox/soulbox/internal/testutil"
)

// These tests run the Bash and JavaScript drivers on the host, as root
// mapped to the user name "user"; the Python driver needs the template's
// IPython and is tested in a real sandbox (internal/agent/e2e).

func newTestServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv, home, _ := newTestServerState(t)
	return srv, home
}

// newTestServerState is newTestServer with the agent state it reads.
func newTestServerState(t *testing.T) (*httptest.Server, string, *state.State) {
	t.Helper()
	testutil.RequiresRoot(t)
	home := t.TempDir()
	etc := t.TempDir()
	passwd := filepath.Join(etc, "passwd")
	group := filepath.Join(etc, "group")
	must(t, os.WriteFile(passwd, []byte("user:x:0:0::"+home+":/bin/bash\n"), 0o644))
	must(t, os.WriteFile(group, []byte("root:x:0:\n"), 0o644))
	st := state.New(map[string]string{"PATH": os.Getenv("PATH"), "FROM_AGENT": "yes"}, users.Files{Passwd: passwd, Group: group})
	r := reaper.New()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		r.Run(ctx)
	}()
	m := NewManager(r, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(Handler(m, st, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(func() {
		srv.Close()
		m.Close()
		// A reaper left running would collect the next test's
		// children, whose exits would then never reach its own.
		cancel()
		<-ran
	})
	return srv, home, st
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type message map[string]any

// result is what one /execute returned, in order.
type result struct {
	msgs   []message
	status int
	body   string
}

func (e result) stream(name string) string {
	var b strings.Builder
	for _, m := range e.msgs {
		if m["type"] == name {
			b.WriteString(m["text"].(string))
		}
	}
	return b.String()
}

func (e result) of(typ string) []message {
	var out []message
	for _, m := range e.msgs {
		if m["type"] == typ {
			out = append(out, m)
		}
	}
	return out
}

func (e result) mainText() string {
	for _, m := range e.of("result") {
		if m["is_main_result"] == true {
			s, _ := m["text"].(string)
			return s
		}
	}
	return ""
}

func execute(t *testing.T, ctx context.Context, srv *httptest.Server, body any) result {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/execute", bytes.NewReader(b))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return result{}
		}
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ex := result{status: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(resp.Body)
		ex.body = string(raw)
		return ex
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		ex.msgs = append(ex.msgs, m)
	}
	if ctx.Err() == nil {
		if n := len(ex.msgs); n == 0 || ex.msgs[n-1]["type"] != "end_of_execution" {
			t.Fatalf("result did not end with end_of_execution: %v", ex.msgs)
		}
	}
	return ex
}

func createContext(t *testing.T, srv *httptest.Server, lang, cwd string) (Info, int, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"language": lang, "cwd": cwd})
	resp, err := http.Post(srv.URL+"/contexts", "application/json", bytes.NewReader(b))
	must(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var info Info
	_ = json.Unmarshal(raw, &info)
	return info, resp.StatusCode, string(raw)
}

func TestBashContext(t *testing.T) {
	srv, home := newTestServer(t)
	ctx := context.Background()
	info, status, body := createContext(t, srv, "bash", "")
	if status != http.StatusOK || info.Language != "bash" || info.Cwd != "/home/user" && info.Cwd != "" {
		// /home/user does not exist on the host: expect a clear 400.
		if status != http.StatusBadRequest || !strings.Contains(body, "/home/user") {
			t.Fatalf("create bash context: %d %s", status, body)
		}
	}
	info, status, body = createContext(t, srv, "bash", home)
	if status != http.StatusOK || info.Language != "bash" || info.Cwd != home || info.ID == "" {
		t.Fatalf("create bash context in %s: %d %s", home, status, body)
	}
	run := func(code string, env map[string]string) result {
		return execute(t, ctx, srv, map[string]any{"code": code, "context_id": info.ID, "env_vars": env})
	}

	if ex := run("x=41; cd /; f() { echo \"f $1\"; }", nil); ex.stream("stdout") != "" || len(ex.of("error")) != 0 {
		t.Fatalf("first cell: %v", ex.msgs)
	}
	ex := run("echo $((x+1)) $PWD; f arg; echo err >&2; echo $FROM_AGENT", nil)
	if got := ex.stream("stdout"); got != "42 /\nf arg\nyes\n" {
		t.Errorf("state across cells: stdout %q", got)
	}
	if got := ex.stream("stderr"); got != "err\n" {
		t.Errorf("stderr %q", got)
	}
	if n := ex.of("number_of_executions"); len(n) != 1 || n[0]["execution_count"] != 2.0 {
		t.Errorf("result count: %v", n)
	}

	// Env vars apply to one result, then the old values are back.
	ex = run(`echo "$FOO $FROM_AGENT"`, map[string]string{"FOO": "it's $set", "FROM_AGENT": "over"})
	if got := ex.stream("stdout"); got != "it's $set over\n" {
		t.Errorf("env: %q", got)
	}
	if got := run(`echo "${FOO-unset} $FROM_AGENT"`, nil).stream("stdout"); got != "unset yes\n" {
		t.Errorf("env after the cell: %q", got)
	}

	// A failing command is an error carrying its exit code.
	ex = run("false", nil)
	if errs := ex.of("error"); len(errs) != 1 || errs[0]["value"] != "exit code 1" {
		t.Errorf("false: %v", ex.msgs)
	}

	// A cell reading stdin reads nothing instead of the driver's requests.
	if got := run("cat; echo after", nil).stream("stdout"); got != "after\n" {
		t.Errorf("stdin: %q", got)
	}

	// A runaway cell is interrupted when the client gives up, and the
	// context keeps its state.
	tctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	execute(t, tctx, srv, map[string]any{"code": "while true; do :; done", "context_id": info.ID})
	cancel()
	if got := run("echo $x", nil).stream("stdout"); got != "41\n" {
		t.Errorf("after an interrupt: %q", got)
	}
	tctx, cancel = context.WithTimeout(ctx, 500*time.Millisecond)
	execute(t, tctx, srv, map[string]any{"code": "sleep 100", "context_id": info.ID})
	cancel()
	if got := run("echo $x", nil).stream("stdout"); got != "41\n" {
		t.Errorf("after interrupting sleep: %q", got)
	}

	// Bad env names are refused before anything runs.
	if ex := run("echo hi", map[string]string{"A-B": "x"}); ex.status != http.StatusBadRequest {
		t.Errorf("bad env name: %d %s", ex.status, ex.body)
	}
}

// A Bash context leaves nothing in its TMPDIR, though the agent ends its
// shell with SIGKILL: the cells are read from here-strings, a small one
// through a pipe, a large one through a file bash removes at once.
func TestBashContextLeavesNoFiles(t *testing.T) {
	srv, home, st := newTestServerState(t)
	tmp := t.TempDir()
	st.Apply(state.Init{EnvVars: map[string]string{"TMPDIR": tmp}})
	ctx := context.Background()
	info, status, body := createContext(t, srv, "bash", home)
	if status != http.StatusOK {
		t.Fatalf("create bash context: %d %s", status, body)
	}
	big := "x='" + strings.Repeat("a", 256<<10) + "'; echo ${#x}"
	for _, c := range []struct{ code, want string }{
		{"echo $TMPDIR; echo \"[$1]\"", tmp + "\n[]\n"},
		{big, "262144\n"},
	} {
		ex := execute(t, ctx, srv, map[string]any{"code": c.code, "context_id": info.ID})
		if got := ex.stream("stdout"); got != c.want || len(ex.of("error")) != 0 {
			t.Errorf("cell of %d bytes: stdout %q, %v; want %q", len(c.code), got, ex.of("error"), c.want)
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/contexts/"+info.ID, nil)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in TMPDIR after the context's end: %v", left)
	}
}

func TestJavaScriptContext(t *testing.T) {
	testutil.RequiresBinary(t, "node")
	srv, home := newTestServer(t)
	ctx := context.Background()
	info, status, body := createContext(t, srv, "js", home)
	if status != http.StatusOK || info.Language != "javascript" {
		t.Fatalf("create js context: %d %s", status, body)
	}
	run := func(code string) result {
		return execute(t, ctx, srv, map[string]any{"code": code, "context_id": info.ID})
	}
	ex := run("const os = require('os'); let n = 20; function twice(v) { return 2 * v }\nconsole.log('hello'); console.error('warn'); twice(n) + 2")
	if got := ex.mainText(); got != "42" {
		t.Fatalf("main result %q: %v", got, ex.msgs)
	}
	// The result comes after the output printed before it (stdout and
	// stderr are separate pipes: between them there is no order).
	for i, m := range ex.msgs {
		if m["type"] == "result" && i < 2 {
			t.Errorf("order: %v", ex.msgs)
		}
	}
	if got := ex.stream("stderr"); got != "warn\n" {
		t.Errorf("stderr %q", got)
	}
	if got := run("const v = await new Promise(r => setTimeout(() => r(7), 10)); v * n").mainText(); got != "140" {
		t.Errorf("top-level await: %q", got)
	}
	if got := run("v + twice(1)").mainText(); got != "9" {
		t.Errorf("state after await: %q", got)
	}
	if got := run("({a: 1, b: [1, 2]})").mainText(); got != "{ a: 1, b: [ 1, 2 ] }" {
		t.Errorf("object literal: %q", got)
	}
	ex = run("null.x")
	if errs := ex.of("error"); len(errs) != 1 || errs[0]["name"] != "TypeError" || !strings.Contains(errs[0]["traceback"].(string), "TypeError") {
		t.Errorf("error: %v", ex.msgs)
	}
	ex = run("throw new RangeError('out')")
	if errs := ex.of("error"); len(errs) != 1 || errs[0]["name"] != "RangeError" || errs[0]["value"] != "out" {
		t.Errorf("thrown: %v", ex.msgs)
	}

	for _, code := range []string{"while (true) {}", "await new Promise(() => {})"} {
		tctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		execute(t, tctx, srv, map[string]any{"code": code, "context_id": info.ID})
		cancel()
		if got := run("n + 1").mainText(); got != "21" {
			t.Errorf("after interrupting %q: %q", code, got)
		}
	}
}

func TestContextsAPI(t *testing.T) {
	srv, home := newTestServer(t)
	ctx := context.Background()
	info, status, _ := createContext(t, srv, "bash", home)
	if status != http.StatusOK {
		t.Fatal(status)
	}
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}

	status, body := do("GET", "/contexts", "")
	var list []Info
	_ = json.Unmarshal([]byte(body), &list)
	if status != http.StatusOK || len(list) != 1 || list[0] != info {
		t.Fatalf("list: %d %s", status, body)
	}

	execute(t, ctx, srv, map[string]any{"code": "x=1", "context_id": info.ID})
	if status, body := do("POST", "/contexts/"+info.ID+"/restart", ""); status != http.StatusOK {
		t.Fatalf("restart: %d %s", status, body)
	}
	if got := execute(t, ctx, srv, map[string]any{"code": "echo ${x-gone}", "context_id": info.ID}).stream("stdout"); got != "gone\n" {
		t.Errorf("state after restart: %q", got)
	}
	if status, body := do("DELETE", "/contexts/"+info.ID, ""); status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", status, body)
	}

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		says                     string
	}{
		{"execute in a removed context", "POST", "/execute", `{"code":"1","context_id":"` + info.ID + `"}`, 404, info.ID},
		{"execute in an unknown context", "POST", "/execute", `{"code":"1","context_id":"nope"}`, 404, "nope"},
		{"context and language", "POST", "/execute", `{"code":"1","context_id":"x","language":"python"}`, 400, "not both"},
		{"unknown language", "POST", "/execute", `{"code":"1","language":"cobol"}`, 400, "python"},
		{"no code", "POST", "/execute", `{"language":"bash"}`, 400, "code is required"},
		{"code not a string", "POST", "/execute", `{"code":5}`, 400, "invalid JSON"},
		{"not JSON", "POST", "/execute", `{`, 400, "invalid JSON"},
		{"env not strings", "POST", "/execute", `{"code":"1","env_vars":{"A":1}}`, 400, "invalid JSON"},
		{"create unknown language", "POST", "/contexts", `{"language":"cobol"}`, 400, "bash, javascript, python"},
		{"create missing cwd", "POST", "/contexts", `{"language":"bash","cwd":"/no/such/dir"}`, 400, "/no/such/dir"},
		{"restart unknown", "POST", "/contexts/nope/restart", ``, 404, "nope"},
		{"delete unknown", "DELETE", "/contexts/nope", ``, 404, "nope"},
		{"unknown route", "GET", "/nothing", ``, 404, "/nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(tc.method, tc.path, tc.body)
			if status != tc.status || !strings.Contains(body, tc.says) || !strings.Contains(body, `"code"`) {
				t.Errorf("%d %s; want %d saying %q in {code, message}", status, body, tc.status, tc.says)
			}
		})
	}
	// Nothing was created by the bad requests.
	if _, body := do("GET", "/contexts", ""); body != "[]\n" {
		t.Errorf("contexts after bad requests: %s", body)
	}
}

// A cell that ignores the interrupt costs the context its process; the
// next execution says so and runs in a fresh one.
func TestStubbornCellLosesTheContext(t *testing.T) {
	srv, home := newTestServer(t)
	info, status, body := createContext(t, srv, "bash", home)
	if status != http.StatusOK {
		t.Fatalf("create: %d %s", status, body)
	}
	run := func(ctx context.Context, code string) result {
		return execute(t, ctx, srv, map[string]any{"code": code, "context_id": info.ID})
	}
	run(context.Background(), "x=1")
	// The cell says "armed" once it ignores SIGINT; the client hangs up
	// (which interrupts the cell) only then, or the interrupt could land
	// before the trap and end the cell as an ordinary one.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, _ := json.Marshal(map[string]any{"code": "trap '' INT; echo armed; while true; do :; done", "context_id": info.ID})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/execute", bytes.NewReader(b))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	armed := make(chan bool, 1)
	go func() {
		var stdout strings.Builder
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m message
			if json.Unmarshal(sc.Bytes(), &m) != nil || m["type"] != "stdout" {
				continue
			}
			text, _ := m["text"].(string)
			stdout.WriteString(text)
			if strings.Contains(stdout.String(), "armed\n") {
				armed <- true
				return
			}
		}
		armed <- false
	}()
	select {
	case ok := <-armed:
		if !ok {
			t.Fatal("the execution ended before the cell said it ignores SIGINT")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the cell never said it ignores SIGINT")
	}
	cancel()
	resp.Body.Close()
	ex := run(context.Background(), "echo ${x-gone}")
	if got := ex.stream("stdout"); got != "gone\n" {
		t.Errorf("stdout %q: the state should be gone", got)
	}
	if got := ex.stream("stderr"); !strings.Contains(got, "ignored its interrupt") {
		t.Errorf("stderr %q: the loss is not reported", got)
	}
	if got := run(context.Background(), "echo again").stream("stderr"); got != "" {
		t.Errorf("reported twice: %q", got)
	}
}
