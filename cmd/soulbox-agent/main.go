// Command soulbox-agent runs inside every sandbox as its main process:
// the init that reaps the sandbox's orphans and, on port 49983, the
// endpoint through which commands and files reach the sandbox.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/soulbox/soulbox/internal/agent/reaper"
)

// envdPort is the port E2B's SDKs expect the in-sandbox agent on.
const envdPort = "49983"

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	go reaper.New().Run(ctx)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", net.JoinHostPort("", envdPort))
	if err != nil {
		log.Error("listen", "err", err)
		os.Exit(1)
	}
	log.Info("agent ready", "port", envdPort, "pid", os.Getpid())
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("serve", "err", err)
		os.Exit(1)
	}
}
