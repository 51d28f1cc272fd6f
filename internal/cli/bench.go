package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/bench"
	"github.com/soulbox/soulbox/internal/gctune"
	"github.com/soulbox/soulbox/internal/server"
)

func newBenchCmd() *cobra.Command {
	c := &conn{}
	cfg := bench.Defaults()
	var only string
	var stdoutMiB, fileMiB int64
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a server: create latency with and without the pool, exec, streaming, files, creates/s, idle memory",
		Long: `Measure a SoulBox server the way its users meet it, through its API and
proxy, and print a table (or, with --json, one JSON object):

  create_cold       create to the end of the first command (echo hi), pool bypassed
  create_warm       the same, taking from the warm pool if the server has one
  runtime_baseline  the bare OCI runtime running /bin/true in the template's rootfs;
                    needs root and the template on this machine (the server's host),
                    skipped elsewhere
  exec              echo hi in a running sandbox
  exec_after_pause  the same after the sandbox was left alone for 1 s, as an
                    agent's commands usually are apart
  stdout            MB/s of a command's stdout (MB = 10^6 bytes)
  files             MB/s of an upload and a download
  agent_files       the agent's file paths as the e2b SDK drives them: a 50 MB
                    multipart upload (MB/s), 1 KiB write and read, and a 1 KiB
                    write to its event at a client watching the directory (ms)
  api_load          --api-rate requests/s for --api-duration, open loop, across
                    --api-sandboxes sandboxes of the API alone: get, list by
                    state and metadata, set timeout and metrics; the rate
                    reached, p50/p95/p99 and errors of each
  run_load          commands.run('echo hi') alone, as the SDKs send it (bash -l
                    over the process stream, through the proxy), at --api-rate
                    runs/s for --api-duration across --api-sandboxes sandboxes
  creates           create+kill pairs per second at --concurrency for --duration
  idle              --idle sandboxes created (time to create them all), each then
                    checked to answer a command; memory per sandbox: its cgroup,
                    per the metrics API, and on the server's host the fall of
                    MemAvailable and the RSS of the sandboxes' processes; after
                    the kill, that none left a cgroup, mount, link, loop device
                    or process on this host. Stops under --idle-min-available-mib

Latencies are nearest-rank p50/p95/p99 in ms. Every sandbox is tagged with
the metadata key soulbox-bench and killed before the command ends, also on
Ctrl-C. Any error is printed and makes the exit status non-zero.`,
		Example: `  soulbox bench
  soulbox bench --only exec,create_cold,runtime_baseline --iterations 10
  sudo soulbox bench --json > bench.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			// The load generator usually shares the server's host: the
			// less CPU it takes, the less it skews what it measures.
			gctune.Apply(os.Getenv)
			if cfg.Only, err = bench.ParseOnly(only); err != nil {
				return err
			}
			cfg.StdoutBytes, cfg.FileBytes = stdoutMiB<<20, fileMiB<<20
			cfg.Progress = cmd.ErrOrStderr()
			rep, err := bench.Run(cmd.Context(), cl, cfg)
			if rep != nil {
				out := rep.WriteTable
				if c.json {
					out = rep.WriteJSON
				}
				if werr := out(cmd.OutOrStdout()); werr != nil && err == nil {
					err = werr
				}
			}
			if err != nil {
				return err
			}
			if n := len(rep.Errors); n > 0 {
				names := make([]string, n)
				for i, f := range rep.Errors {
					names[i] = f.Measurement
				}
				return fmt.Errorf("bench: errors in %s (see the report)", strings.Join(names, ", "))
			}
			return nil
		},
	}
	c.flags(cmd)
	f := cmd.Flags()
	f.StringVar(&cfg.Template, "template", cfg.Template, "template of every sandbox")
	f.IntVar(&cfg.Iterations, "iterations", cfg.Iterations, "samples of each latency")
	f.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "creates in flight at once for creates/s and idle sandboxes")
	f.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long creates/s is measured")
	f.IntVar(&cfg.Idle, "idle", cfg.Idle, "idle sandboxes the memory per sandbox is taken over")
	f.Int64Var(&cfg.IdleMinAvailableMiB, "idle-min-available-mib", cfg.IdleMinAvailableMiB, "stop creating idle sandboxes (and kill them) when this machine's MemAvailable falls under this many MiB (0: never)")
	f.StringVar(&only, "only", "", "comma-separated measurements to run (default all): "+strings.Join(bench.Names(), ","))
	f.Int64Var(&stdoutMiB, "stdout-mib", cfg.StdoutBytes>>20, "MiB written to stdout for the streaming rate")
	f.Int64Var(&fileMiB, "file-mib", cfg.FileBytes>>20, "MiB of the file uploaded and downloaded")
	f.IntVar(&cfg.APIRate, "api-rate", cfg.APIRate, "requests per second of the API load")
	f.IntVar(&cfg.APISandboxes, "api-sandboxes", cfg.APISandboxes, "sandboxes the API load is spread across")
	f.DurationVar(&cfg.APIDuration, "api-duration", cfg.APIDuration, "how long the API load runs")
	f.StringVar(&cfg.TemplatesDir, "templates-dir", localTemplatesDir(), "template cache on this machine, for the runtime baseline")
	return cmd
}

// localTemplatesDir is where a server on this machine keeps its templates,
// as `soulbox server` would find it from the same environment.
func localTemplatesDir() string {
	cfg := server.Defaults().FromEnv(os.Getenv)
	if cfg.TemplatesDir != "" {
		return cfg.TemplatesDir
	}
	return filepath.Join(cfg.DataDir, "templates")
}
