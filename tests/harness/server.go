// Package harness runs `soulbox server` as its own process for the
// reliability suites (tests/escape, tests/crash, tests/soak): built from
// this module, started with a data dir and port of its own, killed or
// stopped when the suite says so, and inspected from the host afterwards
// (its store, its runtime's state and what the host still holds).
package harness

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
	"github.com/soulbox/soulbox/internal/testutil"
)

var build struct {
	once sync.Once
	bin  string
	err  error
	out  []byte
}

// Main runs a suite's tests and removes the binaries built for them.
// Call it from TestMain.
func Main(m *testing.M) { ocitest.Main(m) }

// Binary builds cmd/soulbox once per test process, next to the agent
// binary (where the server looks for it, and which Main removes), and
// returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	agent := ocitest.AgentBinary(t)
	build.once.Do(func() {
		build.bin = filepath.Join(filepath.Dir(agent), "soulbox")
		cmd := exec.Command("go", "build", "-o", build.bin, "github.com/soulbox/soulbox/cmd/soulbox")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.out, build.err = cmd.CombinedOutput()
	})
	if build.err != nil {
		t.Fatalf("build soulbox: %v\n%s", build.err, build.out)
	}
	return build.bin
}

// Options configure a server.
type Options struct {
	// Runtime is the OCI runtime (--runtime); empty: the server's choice.
	Runtime string
	// PoolMin and PoolMax size the warm pool; both 0 turn it off.
	PoolMin, PoolMax int
	// MaxSandboxes is the per-team quota; 0 keeps the server's default.
	MaxSandboxes int
}

// Server is one `soulbox server` process and its data dir, which outlives
// the process: Kill and Start again is a crash and a restart.
type Server struct {
	t       testing.TB
	opts    Options
	Bin     string
	DataDir string
	Agent   string
	Addr    string
	// Key is the admin API key, read from the file the first start
	// writes.
	Key string
	// Client talks to the server as the SDKs do.
	Client *client.Client

	cmd    *exec.Cmd
	exited chan struct{}
	log    *os.File
	drv    *oci.Driver
	seen   tracked
}

// New prepares a server with a fresh data dir and starts it.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{t: t, opts: opts, Bin: Binary(t), DataDir: ocitest.Root(t), Agent: ocitest.AgentBinary(t)}
	s.Addr = freeAddr(t)
	s.Client = &client.Client{BaseURL: "http://" + s.Addr}
	var err error
	if s.log, err = os.Create(filepath.Join(t.TempDir(), "server.log")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.Running() {
			s.Stop()
		}
		s.log.Close()
		// A stopped server leaves its sandboxes for the next start; there
		// is none, and a suite that failed half-way may have left some.
		d := s.driver()
		list, _ := d.List(context.Background())
		for _, info := range list {
			if err := d.Destroy(context.Background(), info.ID); err != nil {
				t.Errorf("destroy %s after the test: %v", info.ID, err)
			}
		}
	})
	s.Start()
	// The admin key the first start generated, as an operator reads it.
	b, err := os.ReadFile(filepath.Join(s.DataDir, auth.AdminKeyFile))
	if err != nil {
		t.Fatalf("admin key: %v", err)
	}
	s.Key = strings.TrimSpace(string(b))
	s.Client.APIKey = s.Key
	s.driver() // now, before goroutines of the suite share it
	return s
}

// Running reports whether the server process is alive.
func (s *Server) Running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Start runs the server on its data dir and port and waits until it
// serves (a fresh data dir waits for the shared template cache too).
func (s *Server) Start() {
	s.t.Helper()
	args := []string{"server", "--listen", s.Addr, "--data-dir", s.DataDir,
		"--templates-dir", ocitest.TemplateCache(), "--agent", s.Agent,
		"--pool-min", fmt.Sprint(s.opts.PoolMin), "--pool-max", fmt.Sprint(s.opts.PoolMax)}
	if s.opts.Runtime != "" {
		args = append(args, "--runtime", s.opts.Runtime)
	}
	if s.opts.MaxSandboxes > 0 {
		args = append(args, "--max-sandboxes", fmt.Sprint(s.opts.MaxSandboxes))
	}
	cmd := exec.Command(s.Bin, args...)
	// Only the flags configure it, whatever this process's environment.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SOULBOX_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stdout = s.log
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	serving := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		once := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(s.log, line)
			if !once && strings.Contains(line, "msg=serving") {
				once = true
				close(serving)
			}
		}
		_ = cmd.Wait()
		close(s.exited)
	}()
	select {
	case <-serving:
	case <-s.exited:
		s.t.Fatalf("server exited before serving; its log:\n%s", s.Log())
	case <-time.After(3 * time.Minute):
		s.t.Fatalf("server did not serve within 3 minutes; its log:\n%s", s.Log())
	}
}

// Kill crashes the server: SIGKILL, no shutdown, nothing cleaned.
func (s *Server) Kill() {
	s.t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// Stop shuts the server down as an operator does (SIGTERM) and fails the
// test if it does not exit within 30 seconds.
func (s *Server) Stop() {
	s.t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.exited
		s.t.Errorf("server did not exit within 30s of SIGTERM")
	}
}

// Pid is the server process's pid.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Log returns what the server logged so far, in all its runs.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.log.Name())
	return string(b)
}

// RuntimeRoot is the runtime driver's root under the data dir.
func (s *Server) RuntimeRoot() string { return filepath.Join(s.DataDir, "runtime") }

// Driver is a runtime driver on the server's runtime root, to look at its
// sandboxes from the host as the server sees them.
func (s *Server) Driver() *oci.Driver { return s.driver() }

func (s *Server) driver() *oci.Driver {
	s.t.Helper()
	if s.drv == nil {
		d, err := oci.New(oci.Config{Root: s.RuntimeRoot(), AgentPath: s.Agent, Runtime: s.opts.Runtime, Templates: ocitest.Templates(s.t)})
		if err != nil {
			s.t.Fatal(err)
		}
		s.drv = d
	}
	return s.drv
}

// Store opens the server's store (SQLite allows a reader beside the
// server's writer), closed when the test ends.
func (s *Server) Store() store.Store {
	s.t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(s.DataDir, "soulbox.db"))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { st.Close() })
	return st
}

func freeAddr(t testing.TB) string {
	t.Helper()
	return testutil.FreeAddr(t)
}
