package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/internal/client"
)

// maxValueFile bounds what --value-file reads: the server takes 8 KiB,
// and reading more would only be refused.
const maxValueFile = 64 << 10

// newSecretsCmd manages the team's secrets through E2B's /secrets. A
// value is read from a file or stdin (--value-file), never from the
// command line, where other users of the host can read it (ps).
func newSecretsCmd() *cobra.Command {
	var c conn
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "List, create, update and delete the team's secrets (values are never shown)",
		Example: `  soulbox secrets create OPENAI_KEY --value-file - --allow api.openai.com < key.txt
  soulbox secrets list --json
  soulbox secrets update 3f2c…-… --label OPENAI --value-file new-key.txt
  soulbox secrets delete 3f2c…-…`,
	}
	c.flags(cmd)
	show := func(cmd *cobra.Command, s client.Secret) error {
		if c.json {
			return json.NewEncoder(cmd.OutOrStdout()).Encode(s)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", s.ID, s.Label)
		return nil
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List the team's secrets: id, label, description, allowed hosts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			list, err := cl.Secrets(cmd.Context())
			if err != nil {
				return err
			}
			if c.json {
				if list == nil {
					list = []client.Secret{}
				}
				return json.NewEncoder(cmd.OutOrStdout()).Encode(list)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tLABEL\tALLOW\tDESCRIPTION")
			for _, s := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.ID, s.Label, strings.Join(s.Allowlist, ","), s.Description)
			}
			return tw.Flush()
		},
	}

	var valueFile, description string
	var allow []string
	create := &cobra.Command{
		Use:   "create LABEL --value-file FILE|-",
		Short: "Create a secret; its value comes from a file or stdin, never from the command line",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if valueFile == "" {
				return errors.New("--value-file is required: the value is read from a file, or stdin with -, never from the command line")
			}
			value, err := readValue(cmd, valueFile)
			if err != nil {
				return err
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			s, err := cl.CreateSecret(cmd.Context(), args[0], value, description, allow)
			if err != nil {
				return err
			}
			return show(cmd, s)
		},
	}
	create.Flags().StringVar(&valueFile, "value-file", "", "file holding the value, - for stdin (one trailing newline is dropped)")
	create.Flags().StringVar(&description, "description", "", "what the secret is for")
	create.Flags().StringSliceVar(&allow, "allow", nil, "hosts the value may be sent to, e.g. api.example.com,*.example.com (default any)")

	var label, upDescription, upValueFile string
	var upAllow []string
	update := &cobra.Command{
		Use:   "update ID",
		Short: "Change a secret's label, description, allowed hosts or value",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ch client.SecretChange
			f := cmd.Flags()
			if f.Changed("label") {
				ch.Label = &label
			}
			if f.Changed("description") {
				ch.Description = &upDescription
			}
			if f.Changed("allow") {
				ch.Allowlist = &upAllow
			}
			if upValueFile != "" {
				v, err := readValue(cmd, upValueFile)
				if err != nil {
					return err
				}
				ch.Value = &v
			}
			if ch == (client.SecretChange{}) {
				return errors.New("nothing to change: give --label, --description, --allow or --value-file")
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			s, err := cl.UpdateSecret(cmd.Context(), args[0], ch)
			if err != nil {
				return err
			}
			return show(cmd, s)
		},
	}
	update.Flags().StringVar(&label, "label", "", "new label")
	update.Flags().StringVar(&upDescription, "description", "", "new description")
	update.Flags().StringSliceVar(&upAllow, "allow", nil, "new allowed hosts")
	update.Flags().StringVar(&upValueFile, "value-file", "", "file holding a new value, - for stdin")

	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a secret",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.DeleteSecret(cmd.Context(), args[0]); err != nil {
				return err
			}
			if c.json {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"id": args[0], "deleted": "true"})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(list, create, update, del)
	return cmd
}

// readValue reads a secret's value from path, or stdin for "-", without
// one trailing newline, \n or \r\n (what `echo` and editors add).
func readValue(cmd *cobra.Command, path string) (string, error) {
	var r io.Reader
	if path == "-" {
		r = cmd.InOrStdin()
	} else {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("value file: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxValueFile+1))
	if err != nil {
		return "", fmt.Errorf("read the value: %w", err)
	}
	if len(b) > maxValueFile {
		return "", fmt.Errorf("value file: more than %d bytes; secrets hold at most 8192", maxValueFile)
	}
	v := string(b)
	if strings.HasSuffix(v, "\r\n") {
		v = v[:len(v)-2]
	} else {
		v = strings.TrimSuffix(v, "\n")
	}
	if v == "" {
		return "", errors.New("the value is empty")
	}
	return v, nil
}
