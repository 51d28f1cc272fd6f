// Command soulbox-agent runs inside every sandbox as its main process:
// the init that reaps the sandbox's orphans and, on port 49983, the
// endpoint of E2B's envd protocol through which commands and files reach
// the sandbox, and on port 49999 its code interpreter.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/sys/unix"

	"github.com/soulbox/soulbox/internal/agent/files"
	"github.com/soulbox/soulbox/internal/agent/filesystem"
	"github.com/soulbox/soulbox/internal/agent/interpreter"
	"github.com/soulbox/soulbox/internal/agent/logcap"
	"github.com/soulbox/soulbox/internal/agent/metrics"
	"github.com/soulbox/soulbox/internal/agent/process"
	"github.com/soulbox/soulbox/internal/agent/reaper"
	"github.com/soulbox/soulbox/internal/agent/server"
	"github.com/soulbox/soulbox/internal/agent/state"
	"github.com/soulbox/soulbox/internal/agent/usercgroup"
	"github.com/soulbox/soulbox/internal/agent/users"
	"github.com/soulbox/soulbox/internal/envd"
)

// agentLogMax caps agent.log; agentLogKeep of the newest output survives
// each truncation.
const (
	agentLogMax  = 4 << 20
	agentLogKeep = 1 << 20
)

func main() {
	// stderr is the sandbox's agent.log on the host: capped, so a sandbox
	// that lives for weeks does not fill the host's disk with it.
	log := slog.New(slog.NewJSONHandler(logcap.New(os.Stderr, agentLogMax, agentLogKeep), nil))
	// Not dumpable: the sandbox's processes, root among them (user has
	// sudo), run as the agent's uid, which would let them ptrace it and
	// use what it holds (its access token, its cgroup files). The
	// processes it starts become dumpable again at exec.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		log.Error("agent stays dumpable", slog.Any("err", err))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	r := reaper.New()
	if v, ok := os.LookupEnv(usercgroup.Env); ok {
		// The sandbox's processes start in their own cgroup, where
		// they cannot take the agent's room.
		m, err := usercgroup.Parse(v)
		if err != nil {
			log.Error("sandbox processes share the agent's cgroup", slog.Any("err", err))
		} else {
			r.StartIn(m.Starter().Run)
		}
		os.Unsetenv(usercgroup.Env)
	}
	go r.Run(ctx)

	st := state.New(environ(), users.System)
	procs := process.NewService(process.NewManager(r, st.Envs), st, log)
	fs := filesystem.NewService(st, users.System, log)
	defer fs.Close()
	services := map[string]http.Handler{"/files": files.New(st, log)}
	for _, svc := range []interface {
		Handler(...connect.HandlerOption) (string, http.Handler)
	}{procs, fs} {
		path, h := svc.Handler()
		services[path] = h
	}

	interp := interpreter.NewManager(r, st, log)
	defer interp.Close()

	envdSrv := &http.Server{
		Handler: server.New(server.Config{
			State: st, Metrics: metrics.NewReader(), Log: log, Services: services,
			AfterInit: interp.AfterInit,
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	code := &http.Server{Handler: interpreter.Handler(interp, st, log), ReadHeaderTimeout: 10 * time.Second}
	envdLn, err1 := listen(envd.Port)
	codeLn, err2 := listen(envd.CodeInterpreterPort)
	if err := errors.Join(err1, err2); err != nil {
		log.Error("listen", "err", err)
		os.Exit(1)
	}
	log.Info("agent ready", "port", envd.Port, "interpreter_port", envd.CodeInterpreterPort, "pid", os.Getpid(), "version", server.Version)
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = code.Shutdown(shutdownCtx)
		_ = envdSrv.Shutdown(shutdownCtx)
	}()
	go serve(code, codeLn, log)
	serve(envdSrv, envdLn, log)
}

// listen listens on a TCP port of every address. Plain TCP, not the
// Multipath TCP Go chooses by default where the kernel has it: a sandbox
// is checkpointed with CRIU, which cannot save an MPTCP socket.
func listen(port int) (net.Listener, error) {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	return lc.Listen(context.Background(), "tcp", net.JoinHostPort("", strconv.Itoa(port)))
}

func serve(srv *http.Server, ln net.Listener, log *slog.Logger) {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("serve", "addr", ln.Addr().String(), "err", err)
		os.Exit(1)
	}
}

// environ is the agent's own environment, which processes start with.
func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}
