// Package escape_test is the escape and abuse suite: attempts, from inside
// a real sandbox as `user` and as root, to break out of it or harm the
// host, each checked twice: it must fail inside, and the host must show
// no trace of it (its settings, kernel log, mounts, keys, links, cgroups,
// clock, files, the agent and template every sandbox shares, connections
// to a decoy listener). The sandbox must still answer afterwards.
//
// It runs through a `soulbox server` started for it, the way users reach
// sandboxes: commands through the process API, files through /files.
package escape_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/testutil"
	"github.com/soulbox/soulbox/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// env is what every attempt of one run shares.
type env struct {
	srv    *harness.Server
	shared client.Sandbox // attempts that leave the sandbox usable run here
	victim client.Sandbox // another sandbox, whose secret must stay out of reach
	secret string
	decoy  *decoy
	hostIP string
	// templatePasswd is the template's /etc/passwd on the host.
	templatePasswd string

	mu  sync.Mutex
	ids []string
}

func (e *env) sandboxIDs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.ids...)
}

func (e *env) create(t *testing.T) client.Sandbox {
	t.Helper()
	sb, err := e.srv.Client.Create(t.Context(), client.CreateOptions{Template: "base", Timeout: 30 * time.Minute})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	e.srv.Observe(sb.SandboxID)
	e.mu.Lock()
	e.ids = append(e.ids, sb.SandboxID)
	e.mu.Unlock()
	return sb
}

func TestEscapeRunc(t *testing.T) { run(t, "runc") }

// TestEscapeRunsc runs the same attempts in gVisor once a server on runsc
// can run a command in a sandbox; until then it says why it cannot.
func TestEscapeRunsc(t *testing.T) {
	testutil.RequiresBinary(t, "runsc")
	run(t, "runsc")
}

func run(t *testing.T, runtime string) {
	if testing.Short() {
		t.Skip("creates real sandboxes through a server")
	}
	testutil.RequiresRoot(t)
	testutil.RequiresBinary(t, "runc")
	srv := harness.New(t, harness.Options{Runtime: runtime})
	e := &env{srv: srv, hostIP: hostIP()}
	if runtime == "runsc" {
		sb, err := srv.Client.Create(t.Context(), client.CreateOptions{Template: "base", Timeout: time.Minute})
		if err != nil {
			t.Skipf("runsc cannot create a sandbox through the server yet: %v", err)
		}
		out := srv.Run(sb, "user", "true", 30*time.Second)
		_ = srv.Client.Kill(t.Context(), sb.SandboxID)
		if out.Err != nil || out.Code != 0 {
			t.Skipf("the server cannot run a command in a runsc sandbox yet: %v %d %s", out.Err, out.Code, out.Text)
		}
	}
	m, _ := filepath.Glob(filepath.Join(ocitest.TemplateCache(), "base", "*", "rootfs", "etc", "passwd"))
	if len(m) == 0 {
		t.Fatal("no base template in the cache")
	}
	e.templatePasswd = m[0]
	var err error
	if e.decoy, err = newDecoy(); err != nil {
		t.Fatal(err)
	}
	defer e.decoy.ln.Close()

	e.shared = e.create(t)
	e.victim = e.create(t)
	e.secret = fmt.Sprintf("secret-%d", time.Now().UnixNano())
	if out := srv.Run(e.victim, "user", "echo "+e.secret+" > /home/user/secret.txt", time.Minute); out.Code != 0 || out.Err != nil {
		t.Fatalf("plant the secret: %+v", out)
	}

	total, n := 0, 0
	for _, a := range attempts() {
		users := a.users
		if len(users) == 0 {
			users = []string{"user", "root"}
		}
		for _, user := range users {
			total++
			name := a.name + "/" + user
			t.Run(name, func(t *testing.T) {
				n++
				e.try(t, a, user, fmt.Sprintf("esc%d%x", n, time.Now().UnixNano()&0xffff))
			})
		}
	}
	t.Logf("%s: %d attempts", runtime, total)
	if total < 50 {
		t.Errorf("only %d attempts; the suite promises at least 50", total)
	}

	// Nothing the attempts did outlives their sandboxes.
	for _, id := range e.sandboxIDs() {
		_ = srv.Client.Kill(t.Context(), id)
	}
	if l := srv.Leftovers(nil); len(l) > 0 {
		t.Errorf("left on the host after the attempts' sandboxes were killed:\n%s", strings.Join(l, "\n"))
	}
}

// attempt is one way of trying to get out or harm the host.
type attempt struct {
	name  string
	users []string // default: user and root
	// fresh runs the attempt in a sandbox of its own: it may exhaust
	// what the sandbox has.
	fresh bool
	// script is run with bash; it must fail, saying why in a way want
	// matches. Placeholders: NONCE, {{PORT}} (the API), {{DECOY}} (the
	// decoy listener), {{HOSTIP}}, {{DATADIR}}, {{VICTIM}} (the other
	// sandbox's root filesystem on the host).
	script string
	want   string
	// files, if set, instead makes the attempt itself through the API
	// (requests to /files, or a sequence of commands and API calls) and
	// returns why the attack worked, or "".
	files func(t *testing.T, e *env, sb client.Sandbox, user, nonce string) string
	// host, if set, checks something more on the host afterwards and
	// returns what it found wrong, or "".
	host func(e *env, sb client.Sandbox, nonce string) string
}

func (e *env) expand(s string, nonce string) string {
	r := strings.NewReplacer(
		"NONCE", nonce,
		"{{PORT}}", portOf(e.srv.Addr),
		"{{DECOY}}", fmt.Sprint(e.decoy.port()),
		"{{HOSTIP}}", e.hostIP,
		"{{DATADIR}}", e.srv.DataDir,
		"{{VICTIM}}", filepath.Join(e.srv.RuntimeRoot(), "sandboxes", e.victim.SandboxID, "rootfs"),
	)
	return r.Replace(s)
}

func portOf(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }

// try makes one attempt and checks the sandbox and the host afterwards.
func (e *env) try(t *testing.T, a attempt, user, nonce string) {
	sb := e.shared
	if a.fresh {
		sb = e.create(t)
		defer func() { _ = e.srv.Client.Kill(t.Context(), sb.SandboxID) }()
	}
	before := e.snapshot()
	start := time.Now()
	accepted := e.decoy.accepted.Load()

	if a.files != nil {
		if why := a.files(t, e, sb, user, nonce); why != "" {
			t.Errorf("the attack worked: %s", why)
		}
	} else {
		out := e.srv.Run(sb, user, e.expand(a.script, nonce), 2*time.Minute)
		switch {
		case out.Err != nil:
			t.Errorf("could not run the attempt: %v (output %q)", out.Err, out.Text)
		case out.Code == 0:
			t.Errorf("the attempt succeeded (exit 0): %s", out.Text)
		case !regexp.MustCompile(a.want).MatchString(out.Text):
			t.Errorf("the attempt failed (exit %d) but not for the expected reason /%s/: %s", out.Code, a.want, out.Text)
		}
		for what, v := range map[string]string{"the admin key": e.srv.Key, "the other sandbox's secret": e.secret} {
			if strings.Contains(out.Text, v) {
				t.Errorf("the attempt printed %s", what)
			}
		}
	}

	after := e.snapshot()
	for _, d := range before.diff(after) {
		t.Errorf("host changed: %s", d)
	}
	before.restore(after)
	for _, tr := range e.traces(nonce) {
		t.Errorf("the host shows the attempt: %s", tr)
	}
	if skew := clockSkew(start); skew > 2*time.Second {
		t.Errorf("the host's wall clock moved %v away from its monotonic clock", skew)
	}
	if n := e.decoy.accepted.Load() - accepted; n > 0 {
		t.Errorf("the host's decoy listener accepted %d connections from the sandbox", n)
	}
	if a.host != nil {
		if why := a.host(e, sb, nonce); why != "" {
			t.Errorf("host check: %s", why)
		}
	}
	// The sandbox is still usable, as the user it was attacked from.
	out := e.srv.Run(sb, user, "echo alive", time.Minute)
	if out.Err != nil || out.Code != 0 || !strings.Contains(out.Text, "alive") {
		t.Errorf("the sandbox no longer runs commands after the attempt: %+v", out)
	}
	got, err := e.srv.Client.Get(t.Context(), sb.SandboxID)
	if err != nil || got.State != "running" {
		t.Errorf("the sandbox after the attempt: %+v, %v; want running", got, err)
	}
}

func readHost(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return string(b)
}
