package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/server"
	"github.com/soulbox/soulbox/internal/template"
)

func newTemplateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "template",
		Short: "Manage the templates sandboxes start from",
		Example: `  soulbox template init && soulbox template build my-app --dockerfile Dockerfile
  soulbox template list
  sudo soulbox template build base --rebuild`,
	}
	cmd.AddCommand(newTemplateBuildCmd(), newTemplateListCmd(), newTemplateGetCmd(), newTemplateDeleteCmd(), newTemplateTagCmd(),
		newTemplateInitCmd())
	return cmd
}

// templateStore opens the template cache of the local server's data dir.
func templateStore(dataDir, templatesDir, mirror string) (*template.Store, error) {
	if templatesDir == "" {
		templatesDir = filepath.Join(dataDir, "templates")
	}
	return template.New(templatesDir, template.Options{Mirror: mirror, Progress: os.Stderr})
}

func newTemplateBuildCmd() *cobra.Command {
	cfg := server.Defaults().FromEnv(os.Getenv)
	var rebuild bool
	var df dockerfileBuild
	var c conn
	cmd := &cobra.Command{
		Use:   "build [name]",
		Short: "Build a template from a Dockerfile on a server, or base into the local cache",
		Long: `With --dockerfile, build template NAME (or NAME:TAG) on the server from a
Dockerfile: the files its COPY steps name are uploaded from the build
context (the Dockerfile's directory unless --context), and the build's log
is shown as it runs. FROM, RUN, COPY, ADD of local files, ENV, ARG, WORKDIR,
USER, CMD and ENTRYPOINT (the start command) are supported; LABEL,
MAINTAINER and EXPOSE are ignored; anything else is refused with its line.

Without --dockerfile, build the default template base into the template
cache of the server on this host. A template that is already built is kept
unless --rebuild is given; running sandboxes keep the build they started
from until they end.`,
		Example: `  soulbox template build my-app:v1 --dockerfile ./Dockerfile
  sudo soulbox template build
  sudo soulbox template build base --rebuild`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if df.file != "" {
				if len(args) != 1 {
					return fmt.Errorf("name the template to build: soulbox template build NAME --dockerfile %s", df.file)
				}
				cl, err := c.client()
				if err != nil {
					return err
				}
				df.name, df.asJSON, df.out, df.errOut = args[0], c.json, cmd.OutOrStdout(), cmd.ErrOrStderr()
				return df.run(cmd.Context(), cl)
			}
			name := "base"
			if len(args) == 1 {
				name = args[0]
			}
			ts, err := templateStore(cfg.DataDir, cfg.TemplatesDir, cfg.DebianMirror)
			if err != nil {
				return err
			}
			if rebuild {
				if err := ts.Rebuild(cmd.Context(), name); err != nil {
					return err
				}
			}
			t, err := ts.Ensure(cmd.Context(), name)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s built %s (%d MiB)\n", t.Name, t.Version, t.BuiltAt.Format("2006-01-02 15:04:05"), t.SizeBytes>>20)
			return nil
		},
	}
	cmd.Flags().BoolVar(&rebuild, "rebuild", false, "build again even if a build exists")
	cmd.Flags().StringVar(&df.file, "dockerfile", "", "build NAME on the server from this Dockerfile")
	cmd.Flags().StringVar(&df.contextDir, "context", "", "directory COPY sources are relative to (default: the Dockerfile's)")
	cmd.Flags().StringSliceVar(&df.tags, "tag", nil, "more tags for the build (repeatable)")
	cmd.Flags().BoolVar(&df.force, "force", false, "rebuild every step instead of using cached layers")
	c.flags(cmd)
	cmd.Flags().StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "the server's data directory")
	cmd.Flags().StringVar(&cfg.TemplatesDir, "templates-dir", cfg.TemplatesDir, "template cache (default <data-dir>/templates)")
	cmd.Flags().StringVar(&cfg.DebianMirror, "debian-mirror", cfg.DebianMirror, "Debian mirror to build from")
	return cmd
}

func newTemplateListCmd() *cobra.Command {
	cfg := server.Defaults().FromEnv(os.Getenv)
	var local bool
	var c conn
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the server's templates with their status and size",
		Long: `List the templates of the server (yours and the public ones) with their
latest build's status and the disk their own layers use. With --local, list
instead the default template's cache on this host and whether it is built.`,
		Example: `  soulbox template list
  soulbox template list --json
  sudo soulbox template list --local`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			asJSON := c.json
			if !local {
				return listRemote(cmd, &c)
			}
			ts, err := templateStore(cfg.DataDir, cfg.TemplatesDir, cfg.DebianMirror)
			if err != nil {
				return err
			}
			list, err := ts.List(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(list)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%-10s %-22s %-14s %-6s %s\n", "NAME", "ALIASES", "VERSION", "BUILT", "SIZE")
			for _, t := range list {
				size := "-"
				if t.Built {
					size = fmt.Sprintf("%d MiB", t.SizeBytes>>20)
				}
				fmt.Fprintf(w, "%-10s %-22s %-14s %-6t %s\n", t.Name, fmt.Sprint(t.Aliases), t.Version, t.Built, size)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "the server's data directory")
	cmd.Flags().StringVar(&cfg.TemplatesDir, "templates-dir", cfg.TemplatesDir, "template cache (default <data-dir>/templates)")
	cmd.Flags().BoolVar(&local, "local", false, "list the local template cache instead of the server's templates")
	c.flags(cmd)
	return cmd
}
