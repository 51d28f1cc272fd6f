package cli

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

func newSandboxConnectCmd(c *conn) *cobra.Command {
	return &cobra.Command{
		Use:   "connect ID",
		Short: "Open an interactive shell in a sandbox (Ctrl-D or exit to leave)",
		Long: `Open an interactive login shell on a terminal in the sandbox. The local
terminal is put in raw mode while connected and restored on every exit
path; resizing the local window resizes the remote terminal.`,
		Example: "  soulbox sandbox connect i0123456789abcdefghi",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, out := int(os.Stdin.Fd()), os.Stdout
			saved, err := unix.IoctlGetTermios(in, unix.TCGETS)
			if err != nil {
				return errors.New("sandbox connect needs a terminal on stdin: use soulbox exec for scripts")
			}
			cl, sb, err := c.sandbox(cmd, args[0])
			if err != nil {
				return err
			}
			cols, rows := termSize(in)
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			term, err := cl.OpenTerminal(ctx, sb, cols, rows, os.Getenv("TERM"))
			if err != nil {
				return err
			}
			// Raw mode from here on; restored on every way out, signals
			// included.
			if err := makeRaw(in, saved); err != nil {
				return err
			}
			restore := func() { _ = unix.IoctlSetTermios(in, unix.TCSETS, saved) }
			defer restore()
			sigs := make(chan os.Signal, 4)
			signal.Notify(sigs, syscall.SIGWINCH, syscall.SIGTERM, syscall.SIGHUP)
			defer signal.Stop(sigs)
			go func() {
				for s := range sigs {
					if s == syscall.SIGWINCH {
						c, r := termSize(in)
						_ = term.Resize(ctx, c, r)
						continue
					}
					restore()
					cancel()
				}
			}()
			go func() {
				buf := make([]byte, 4096)
				for {
					n, err := os.Stdin.Read(buf)
					if n > 0 {
						if term.Input(ctx, append([]byte(nil), buf[:n]...)) != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
			code, err := term.Copy(out)
			if err != nil && ctx.Err() == nil {
				return err
			}
			if code != 0 {
				return exitError{max(code, 1)}
			}
			return nil
		},
	}
}

func termSize(fd int) (cols, rows uint32) {
	ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil || ws.Col == 0 || ws.Row == 0 {
		return 80, 24
	}
	return uint32(ws.Col), uint32(ws.Row)
}

// makeRaw puts the terminal in raw mode as cfmakeraw(3) does: every key
// goes to the remote shell, which does its own echo and line editing.
func makeRaw(fd int, t *unix.Termios) error {
	raw := *t
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, &raw)
}
