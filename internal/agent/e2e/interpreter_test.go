package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/runtime"
)

// interpreter is a client of a sandbox's code interpreter (port 49999).
type interpreter struct {
	s    *sandbox
	http *http.Client
}

func (s *sandbox) interpreter() *interpreter {
	return &interpreter{s: s, http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return s.driver.DialContext(ctx, s.id, 49999)
		},
	}}}
}

type cellMsg map[string]any

type cell struct {
	msgs []cellMsg
	// stdoutBytes counts stdout without keeping it, for large outputs.
	stdoutBytes int
	maxLine     int
}

func (c cell) text(stream string) string {
	var b strings.Builder
	for _, m := range c.msgs {
		if m["type"] == stream {
			b.WriteString(m["text"].(string))
		}
	}
	return b.String()
}

func (c cell) results() []cellMsg {
	var out []cellMsg
	for _, m := range c.msgs {
		if m["type"] == "result" {
			out = append(out, m)
		}
	}
	return out
}

func (c cell) main() cellMsg {
	for _, m := range c.results() {
		if m["is_main_result"] == true {
			return m
		}
	}
	return nil
}

func (c cell) err() cellMsg {
	for _, m := range c.msgs {
		if m["type"] == "error" {
			return m
		}
	}
	return nil
}

// run executes code and collects its messages; stdout is only counted
// when count is set.
func (in *interpreter) run(t *testing.T, ctx context.Context, body map[string]any, count bool) cell {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://interpreter/execute", bytes.NewReader(b))
	req.Header = in.s.header("")
	resp, err := in.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return cell{}
		}
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(resp.Body)
		t.Fatalf("execute: %s: %s", resp.Status, raw)
	}
	var c cell
	r := bufio.NewReaderSize(resp.Body, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			c.maxLine = max(c.maxLine, len(line))
			var m cellMsg
			if jerr := json.Unmarshal(line, &m); jerr != nil {
				t.Fatalf("line %q: %v", line, jerr)
			}
			if count && m["type"] == "stdout" {
				c.stdoutBytes += len(m["text"].(string))
			} else {
				c.msgs = append(c.msgs, m)
			}
		}
		if err != nil {
			break
		}
	}
	if ctx.Err() == nil && (len(c.msgs) == 0 || c.msgs[len(c.msgs)-1]["type"] != "end_of_execution") {
		t.Fatalf("no end_of_execution: %v", c.msgs)
	}
	return c
}

func (in *interpreter) py(t *testing.T, code string) cell {
	t.Helper()
	return in.run(t, context.Background(), map[string]any{"code": code}, false)
}

func TestPythonInterpreter(t *testing.T) {
	s := newSandbox(t)
	in := s.interpreter()

	c := in.py(t, "import os, sys\nx = 20\nprint('before', x)\nsys.stderr.write('warn\\n')\nos.system('echo from a child')\nx * 2 + 2")
	if m := c.main(); m == nil || m["text"] != "42" {
		t.Fatalf("main result: %v", c.msgs)
	}
	if got := c.text("stdout"); got != "before 20\nfrom a child\n" {
		t.Errorf("stdout %q", got)
	}
	if got := c.text("stderr"); got != "warn\n" {
		t.Errorf("stderr %q", got)
	}
	// Output printed before the result arrives before it.
	for i, m := range c.msgs {
		if m["type"] == "result" && i < 2 {
			t.Errorf("the result came before the output: %v", c.msgs)
		}
	}
	if got := in.py(t, "x").main()["text"]; got != "20" {
		t.Errorf("state: %v", got)
	}
	if got := in.py(t, "import os; os.getcwd(), os.getuid()").main()["text"]; got != "('/home/user', 1000)" {
		t.Errorf("cwd and user: %v", got)
	}

	t.Run("dataframe", func(t *testing.T) {
		c := in.py(t, "import pandas as pd\npd.DataFrame({'a': [1, 2], 'b': ['x', 'y']})")
		m := c.main()
		if m == nil || !strings.Contains(fmt.Sprint(m["html"]), "<table") || !strings.Contains(fmt.Sprint(m["text"]), "a  b") {
			t.Errorf("DataFrame result: %v", c.msgs)
		}
	})
	t.Run("rich reprs", func(t *testing.T) {
		c := in.py(t, "from IPython.display import display, HTML, Markdown, Latex, JSON\ndisplay(HTML('<b>hi</b>'))\ndisplay(Markdown('# T'))\ndisplay(Latex(r'$x^2$'))\nJSON({'k': 1})")
		rs := c.results()
		if len(rs) != 4 || rs[0]["html"] != "<b>hi</b>" || rs[1]["markdown"] != "# T" || rs[2]["latex"] != "$x^2$" || rs[3]["is_main_result"] != true {
			t.Fatalf("results: %v", c.msgs)
		}
		if j, ok := rs[3]["json"].(map[string]any); !ok || j["k"] != 1.0 {
			t.Errorf("json: %v", rs[3])
		}
	})
	t.Run("error", func(t *testing.T) {
		c := in.py(t, "def f():\n    return 1 / 0\nf()")
		e := c.err()
		if e == nil || e["name"] != "ZeroDivisionError" || e["value"] != "division by zero" ||
			!strings.Contains(e["traceback"].(string), "return 1 / 0") || strings.Contains(e["traceback"].(string), "\x1b[") {
			t.Errorf("error: %v", c.msgs)
		}
		if e := in.py(t, "def (:").err(); e == nil || e["name"] != "SyntaxError" {
			t.Errorf("syntax error: %v", e)
		}
		if e := in.py(t, "exit(3)").err(); e == nil {
			t.Errorf("exit() gave no error")
		}
		if got := in.py(t, "x").main()["text"]; got != "20" {
			t.Errorf("state after errors and exit(): %v", got)
		}
	})
	t.Run("plots", func(t *testing.T) {
		c := in.py(t, `
import matplotlib.pyplot as plt
import numpy as np
fig, ax = plt.subplots()
ax.plot([1, 2, 3], [2, 4, 9], label="squares")
ax.set_title("Growth")
ax.set_xlabel("day")
ax.set_ylabel("size (cm)")
plt.show()
plt.figure()
plt.bar(["a", "b", "c"], [3, 5, 1])
plt.figure()
plt.pie([1, 3], labels=["x", "y"])
plt.figure()
plt.scatter([1, 2], [3, 1], label="dots")
None
`)
		rs := c.results()
		if len(rs) != 4 {
			t.Fatalf("%d results, want 4 figures: %v", len(rs), c.msgs)
		}
		for i, r := range rs {
			png, err := base64.StdEncoding.DecodeString(fmt.Sprint(r["png"]))
			if err != nil || len(png) < 24 || string(png[1:4]) != "PNG" {
				t.Fatalf("figure %d: not a PNG: %v", i, err)
			}
			w, h := binary.BigEndian.Uint32(png[16:20]), binary.BigEndian.Uint32(png[20:24])
			if w < 100 || h < 100 {
				t.Errorf("figure %d is %dx%d", i, w, h)
			}
			if r["is_main_result"] != false {
				t.Errorf("figure %d is the main result", i)
			}
		}
		line, _ := rs[0]["chart"].(map[string]any)
		if line == nil {
			t.Fatalf("no chart on the first figure: %v", rs[0])
		}
		if line["type"] != "line" || line["title"] != "Growth" || line["x_label"] != "day" || line["y_unit"] != "cm" {
			t.Errorf("line chart: %v", line)
		}
		if b, _ := json.Marshal(line["elements"]); !strings.Contains(string(b), `[[1,2],[2,4],[3,9]]`) {
			t.Errorf("line points: %s", b)
		}
		bar, _ := rs[1]["chart"].(map[string]any)
		if b, _ := json.Marshal(bar); bar["type"] != "bar" || !strings.Contains(string(b), `"label":"b"`) || !strings.Contains(string(b), `"value":5`) {
			t.Errorf("bar chart: %s", b)
		}
		pie, _ := rs[2]["chart"].(map[string]any)
		if b, _ := json.Marshal(pie); pie["type"] != "pie" || !strings.Contains(string(b), `"label":"y"`) || !strings.Contains(string(b), `"angle":270`) {
			t.Errorf("pie chart: %s", b)
		}
		scatter, _ := rs[3]["chart"].(map[string]any)
		if b, _ := json.Marshal(scatter); scatter["type"] != "scatter" || !strings.Contains(string(b), `[[1,3],[2,1]]`) {
			t.Errorf("scatter chart: %s", b)
		}
	})
	t.Run("env per execution", func(t *testing.T) {
		c := in.run(t, context.Background(), map[string]any{"code": "import os; os.environ['ONLY']", "env_vars": map[string]string{"ONLY": "now"}}, false)
		if got := c.main()["text"]; got != "'now'" {
			t.Errorf("env: %v", c.msgs)
		}
		if got := in.py(t, "os.environ.get('ONLY', 'gone')").main()["text"]; got != "'gone'" {
			t.Errorf("env after: %v", got)
		}
	})
	t.Run("interrupt", func(t *testing.T) {
		for _, code := range []string{"while True: pass", "import time; time.sleep(100)", "import subprocess; subprocess.run(['sleep', '100'])"} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			in.run(t, ctx, map[string]any{"code": code}, false)
			cancel()
			if got := in.py(t, "x + 1").main()["text"]; got != "21" {
				t.Errorf("after interrupting %q: %v", code, got)
			}
		}
	})
}

// A cell printing 100 MB is streamed: the agent's memory stays bounded.
func TestInterpreterLargeOutput(t *testing.T) {
	s := newSandbox(t)
	in := s.interpreter()
	in.py(t, "1")
	c := in.run(t, context.Background(), map[string]any{"code": "import sys\nline = 'x' * 999\nfor _ in range(100_000):\n    print(line)"}, true)
	if c.stdoutBytes != 100_000_000 {
		t.Errorf("got %d bytes of stdout, want 100000000", c.stdoutBytes)
	}
	if c.maxLine > 128<<10 {
		t.Errorf("a message of %d bytes: output is not streamed in chunks", c.maxLine)
	}
	info, err := s.driver.Info(context.Background(), s.id)
	if err != nil {
		t.Fatal(err)
	}
	hwm := peakRSS(t, info.Pid)
	t.Logf("agent peak RSS after 100 MB of output: %d KiB", hwm)
	if hwm > 64<<10 {
		t.Errorf("agent peak RSS %d KiB: output is buffered", hwm)
	}
}

// peakRSS reads a process's VmHWM in KiB.
func peakRSS(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return n
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// /init can prewarm Python and later hand its variables to the running
// context, as the warm pool does when a pooled sandbox is claimed.
func TestInterpreterPrewarmThenInit(t *testing.T) {
	s := newSandboxWith(t, runtime.Limits{DiskMB: 2048})
	start := time.Now()
	if resp := s.init(t, map[string]any{"soulboxPrewarm": []string{"python"}}); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("prewarm: %s", resp.Status)
	}
	t.Logf("prewarm took %v", time.Since(start))
	in := s.interpreter()
	if c := in.py(t, "import sys; 'numpy' in sys.modules and 'matplotlib.pyplot' in sys.modules"); c.main()["text"] != "True" {
		t.Errorf("prewarmed context lacks the data stack: %v", c.msgs)
	}
	s.token = "tok"
	if resp := s.init(t, map[string]any{"envVars": map[string]string{"CLAIMED": "yes"}, "accessToken": "tok"}); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("init: %s", resp.Status)
	}
	if c := in.py(t, "import os; os.environ.get('CLAIMED')"); c.main()["text"] != "'yes'" {
		t.Errorf("init variables in the prewarmed context: %v", c.msgs)
	}
	// /execute needs the token once set.
	s.token = ""
	b, _ := json.Marshal(map[string]any{"code": "1"})
	req, _ := http.NewRequest(http.MethodPost, "http://interpreter/execute", bytes.NewReader(b))
	resp, err := in.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("execute without the token: %s", resp.Status)
	}
}
