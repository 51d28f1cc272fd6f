// Command soulbox is the SoulBox server and command-line tool.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/soulbox/soulbox/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := cli.NewRoot().ExecuteContext(ctx)
	stop()
	if code, ok := cli.ExitCode(err); ok {
		os.Exit(code) // the exit code of a command run in a sandbox
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soulbox:", err)
		os.Exit(1)
	}
}
