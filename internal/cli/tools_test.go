package cli_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/cli"
)

func TestToolsFormats(t *testing.T) {
	for _, tc := range []struct {
		format, nameAt, schemaAt string
	}{
		{"openai", "function.name", "function.parameters"},
		{"anthropic", "name", "input_schema"},
		{"json-schema", "name", "inputSchema"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			root := cli.NewRoot()
			var out bytes.Buffer
			root.SetOut(&out)
			root.SetArgs([]string{"tools", "--format", tc.format})
			if err := root.Execute(); err != nil {
				t.Fatal(err)
			}
			var list []map[string]any
			if err := json.Unmarshal(out.Bytes(), &list); err != nil {
				t.Fatalf("not a JSON array: %v\n%s", err, out.String())
			}
			var names []string
			for _, item := range list {
				names = append(names, dig(item, tc.nameAt).(string))
				if s, _ := dig(item, tc.schemaAt).(map[string]any); s["type"] != "object" {
					t.Errorf("%s: schema at %s is %v", tc.format, tc.schemaAt, dig(item, tc.schemaAt))
				}
			}
			if !strings.Contains(strings.Join(names, ","), "run_code") || len(names) != 9 {
				t.Errorf("tools %v", names)
			}
		})
	}
	root := cli.NewRoot()
	root.SetOut(&bytes.Buffer{})
	root.SetArgs([]string{"tools", "--format", "yaml"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "use openai, anthropic or json-schema") {
		t.Errorf("--format yaml: %v", err)
	}
}

func dig(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		v = v.(map[string]any)[k]
	}
	return v
}
