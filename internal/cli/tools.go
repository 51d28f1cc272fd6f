package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/soulbox/soulbox/sdk/go/soulbox/tools"
)

func newToolsCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "tools",
		Short: "Print SoulBox's tool definitions for an LLM's function calling (OpenAI, Anthropic, JSON Schema)",
		Long: `Print the definitions of SoulBox's tools (create_sandbox, run_code,
run_command, read_file, write_file, list_files, upload_from_url,
expose_port, kill_sandbox) as a JSON array in the shape an LLM API takes:

  openai       Chat Completions "tools": [{"type": "function", "function": {...}}]
  anthropic    Messages API "tools": [{"name", "description", "input_schema"}]
  json-schema  [{"name", "description", "inputSchema"}], as MCP lists them

A program executes the model's calls with the Go package
github.com/soulbox/soulbox/sdk/go/soulbox/tools (Runner.Call), which also
turns results into the API's message content.`,
		Example: "  soulbox tools --format openai > tools.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defs := tools.Definitions()
			var v any
			switch format {
			case "openai":
				v = tools.OpenAI(defs)
			case "anthropic":
				v = tools.Anthropic(defs)
			case "json-schema":
				v = tools.JSONSchema(defs)
			default:
				return fmt.Errorf("format %q: use openai, anthropic or json-schema", format)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(v)
		},
	}
	cmd.Flags().StringVar(&format, "format", "json-schema", "openai, anthropic or json-schema")
	return cmd
}
