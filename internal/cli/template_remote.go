package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/client"
)

// newTemplateGetCmd is `soulbox template get NAME`.
func newTemplateGetCmd() *cobra.Command {
	var c conn
	cmd := &cobra.Command{
		Use:     "get NAME",
		Short:   "Show a template of the server with its builds",
		Example: `  soulbox template get my-app --json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			t, err := cl.GetTemplate(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if c.json {
				return json.NewEncoder(w).Encode(t)
			}
			fmt.Fprintf(w, "%s  %s  public=%t  %s\n", t.TemplateID, strings.Join(t.Names, ","), t.Public, size(t.SizeBytes))
			fmt.Fprintf(w, "%-26s %-9s %-9s %s\n", "BUILD", "STATUS", "SIZE", "CREATED")
			for _, b := range t.Builds {
				fmt.Fprintf(w, "%-26s %-9s %-9s %s\n", b.BuildID, b.Status, size(b.SizeBytes), b.CreatedAt.Local().Format("2006-01-02 15:04:05"))
				if b.Reason != "" {
					fmt.Fprintf(w, "  %s\n", b.Reason)
				}
			}
			return nil
		},
	}
	c.flags(cmd)
	return cmd
}

// newTemplateDeleteCmd is `soulbox template delete NAME`.
func newTemplateDeleteCmd() *cobra.Command {
	var c conn
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a template of the server (refused while its sandboxes run)",
		Long: `Delete a template with its builds and tags; the layers no other template
uses are freed. The server refuses while sandboxes of the template run or
are paused.`,
		Example: `  soulbox template delete my-app`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.DeleteTemplate(cmd.Context(), args[0]); err != nil {
				return err
			}
			if c.json {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"deleted": args[0]})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		},
	}
	c.flags(cmd)
	return cmd
}

// listRemote prints the server's templates.
func listRemote(cmd *cobra.Command, c *conn) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	list, err := cl.ListTemplates(cmd.Context())
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if c.json {
		if list == nil {
			list = []client.Template{}
		}
		return json.NewEncoder(w).Encode(list)
	}
	fmt.Fprintf(w, "%-26s %-36s %-9s %-7s %s\n", "TEMPLATE", "NAMES", "STATUS", "BUILDS", "SIZE")
	for _, t := range list {
		fmt.Fprintf(w, "%-26s %-36s %-9s %-7d %s\n", t.TemplateID, strings.Join(t.Names, ","), t.BuildStatus, t.BuildCount, size(t.SizeBytes))
	}
	return nil
}

func size(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	default:
		return fmt.Sprintf("%d KiB", b>>10)
	}
}

// starterDockerfile is what `template init` writes.
const starterDockerfile = `# A SoulBox (and E2B) template. Build it with:
#   soulbox template build my-template --dockerfile Dockerfile
# FROM, RUN, COPY/ADD of local files, ENV, ARG, WORKDIR, USER, CMD and
# ENTRYPOINT (the start command) are supported.
FROM e2bdev/base

# Steps run as root; sandboxes run as user in /home/user.
RUN echo "installed at build time" > /opt/hello.txt

# COPY requirements.txt /home/user/
# RUN pip install -r /home/user/requirements.txt
`

// newTemplateInitCmd is `soulbox template init [DIR]`.
func newTemplateInitCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "init [dir]",
		Short:   "Write a starter Dockerfile for a template",
		Example: `  soulbox template init ./my-template`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			p := filepath.Join(dir, "Dockerfile")
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("%s exists: it is left as it is", p)
			}
			if err != nil {
				return err
			}
			_, err = f.WriteString(starterDockerfile)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"dockerfile": p})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s; build it with: soulbox template build NAME --dockerfile %s\n", p, p)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return cmd
}

// newTemplateTagCmd is `soulbox template tag NAME[:TAG] NEWTAG...`.
func newTemplateTagCmd() *cobra.Command {
	var c conn
	cmd := &cobra.Command{
		Use:   "tag NAME[:TAG] NEWTAG...",
		Short: "Point more tags at a build of a template",
		Long: `Point NEWTAG (one or more) at the build NAME:TAG names (NAME alone means
its default tag); sandboxes created from NAME:NEWTAG start from that build.`,
		Example: `  soulbox template tag my-app:v1 stable`,
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			buildID, err := cl.AssignTemplateTags(cmd.Context(), args[0], args[1:])
			if err != nil {
				return err
			}
			if c.json {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"buildID": buildID, "tags": args[1:]})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s -> build %s\n", strings.Join(args[1:], ", "), buildID)
			return nil
		},
	}
	c.flags(cmd)
	return cmd
}
