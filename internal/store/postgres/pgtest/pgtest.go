// Package pgtest starts throwaway PostgreSQL clusters for tests: initdb and
// postgres from the distribution's packages (scripts/setup.sh installs them)
// in a temporary directory, listening on a Unix socket (and on 127.0.0.1
// for StartTCP), removed when the test ends. Without PostgreSQL a test skips, except under CI=true,
// where it fails: CI must never pass by not testing a backend.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a running PostgreSQL server of one test.
type Cluster struct {
	dir  string // data, socket and log below it
	sock string
	port int // of the loopback listener, if any, and the socket's name
	n    atomic.Int64
}

// Start starts a cluster for t and stops it when t ends. As root, the
// cluster runs as the postgres user, since PostgreSQL refuses to run as
// root.
func Start(t testing.TB) *Cluster {
	t.Helper()
	return start(t, false)
}

// StartTCP is Start with a listener on a free port of 127.0.0.1 besides
// the socket, for what only a TCP session shows (keepalives).
func StartTCP(t testing.TB) *Cluster {
	t.Helper()
	return start(t, true)
}

func start(t testing.TB, tcp bool) *Cluster {
	t.Helper()
	bin, err := binDir()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required in CI: %v", err)
		}
		t.Skipf("PostgreSQL not installed (scripts/setup.sh installs it): %v", err)
	}
	cred, uid, gid, err := credential()
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: its parents are 0700 root, which the postgres user
	// could not traverse. The path stays short for the socket's sake.
	dir, err := os.MkdirTemp("", "soulbox-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	c := &Cluster{dir: dir, sock: dir, port: 5432}
	listen := ""
	if tcp {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c.port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		listen = "127.0.0.1"
	}
	data := filepath.Join(dir, "data")
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("%s %v: %v\n%s\n%s", name, args, err, out, log)
		}
	}
	// A collation other than bytewise, as most installations have (a
	// database's default comes from its server's locale): a query whose
	// order depends on the collation then orders differently from
	// SQLite's, and the suite sees it.
	run("initdb", append([]string{"-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"}, localeArgs(bin)...)...)
	// The server is this process's child, not pg_ctl's daemon: when the
	// test binary dies (a timeout, a panic), the kernel sends it SIGQUIT
	// and no cluster is left behind. No TCP listener but on 127.0.0.1
	// for StartTCP: tests reach it through the socket in dir.
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	srv := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", dir,
		"-c", "listen_addresses="+listen, "-p", strconv.Itoa(c.port), "-c", "max_connections=300")
	srv.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	srv.Stdout, srv.Stderr = logf, logf
	if err := startOnLastingThread(srv); err != nil {
		t.Fatalf("start postgres: %v", err)
	}
	exited := make(chan struct{}) // closed when the server has exited
	go func() { _ = srv.Wait(); close(exited) }()
	t.Cleanup(func() {
		// SIGINT is PostgreSQL's fast shutdown: clients are disconnected.
		_ = srv.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = srv.Process.Kill()
			<-exited
		}
	})
	if err := c.waitReady(exited); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Fatalf("postgres did not start: %v\n%s", err, log)
	}
	return c
}

// URL is the connection URL of database db in the cluster.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres:///%s?host=%s&port=%d&user=postgres&sslmode=disable", db, c.sock, c.port)
}

// TCPURL is URL through the loopback listener of a cluster from StartTCP.
func (c *Cluster) TCPURL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// NewDatabase creates an empty database and returns its URL.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d", c.n.Add(1))
	c.Exec(t, "postgres", "CREATE DATABASE "+name)
	return c.URL(name)
}

// waitReady waits until the server takes connections, or exits.
func (c *Cluster) waitReady(exited <-chan struct{}) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		cancel()
		if err == nil {
			return conn.Close(context.Background())
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-exited:
			return fmt.Errorf("exited")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Exec runs one statement as the superuser in database db.
func (c *Cluster) Exec(t testing.TB, db, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL(db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// localeArgs are initdb's locale options: ICU's en-US collation where
// this PostgreSQL has ICU (15 and later; Debian's builds do), which needs
// no locale installed on the host; else the host's en_US.UTF-8 if it has
// one; else C, with which collation-dependent orders go unseen.
func localeArgs(bin string) []string {
	// ICU is built in where configure said so, and by default from 16 on.
	conf, _ := exec.Command(filepath.Join(bin, "pg_config"), "--configure").Output()
	icu := strings.Contains(string(conf), "with-icu") || major(bin) >= 16 && !strings.Contains(string(conf), "without-icu")
	if major(bin) >= 15 && icu {
		return []string{"--locale=C", "--locale-provider=icu", "--icu-locale=en-US"}
	}
	if out, err := exec.Command("locale", "-a").Output(); err == nil {
		for _, l := range strings.Fields(string(out)) {
			if strings.EqualFold(l, "en_US.utf8") || strings.EqualFold(l, "en_US.UTF-8") {
				return []string{"--locale=" + l}
			}
		}
	}
	return []string{"--locale=C"}
}

// binDir finds the newest PostgreSQL's binaries: Debian keeps initdb and
// pg_ctl out of PATH, under /usr/lib/postgresql/<major>/bin.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return major(a) - major(b) })
	for _, d := range slices.Backward(dirs) {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("initdb not found under /usr/lib/postgresql/*/bin or in PATH")
}

func major(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// credential is who the cluster runs as: the postgres user when this is
// root, this user otherwise (nil credential).
func credential() (*syscall.Credential, int, int, error) {
	if os.Geteuid() != 0 {
		return nil, os.Geteuid(), os.Getegid(), nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, 0, 0, fmt.Errorf("running as root, PostgreSQL needs the postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, uid, gid, nil
}

// spawner runs functions on one OS thread that never exits. The kernel
// sends Pdeathsig when the thread that started a child exits, not when
// the process does: started from an ordinary goroutine, the server was
// killed whenever the Go runtime retired that thread (as it does a
// thread a goroutine locked and left locked, which network namespace
// code does), in the middle of a test.
var spawner = func() chan func() {
	ch := make(chan func())
	go SpawnLoop(ch)
	return ch
}()

// SpawnLoop is the spawner's goroutine: it runs what ch brings on its own
// thread for the life of the process. A test binary that checks for
// leaked goroutines ignores it by this name.
func SpawnLoop(ch chan func()) {
	runtime.LockOSThread() // never unlocked: the thread lasts
	for f := range ch {
		f()
	}
}

// startOnLastingThread starts cmd from the spawner's thread.
func startOnLastingThread(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	spawner <- func() { done <- cmd.Start() }
	return <-done
}
