package tools_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/server/servertest"
	"github.com/soulbox/soulbox/sdk/go/soulbox"
	"github.com/soulbox/soulbox/sdk/go/soulbox/tools"
)

func TestDefinitions(t *testing.T) {
	defs := tools.Definitions()
	required := map[string][]string{
		"run_code": {"code"}, "run_command": {"command"}, "read_file": {"path"}, "write_file": {"content", "path"},
		"upload_from_url": {"path", "url"}, "expose_port": {"port"},
	}
	for _, d := range defs {
		if d.InputSchema["type"] != "object" || d.InputSchema["properties"] == nil {
			t.Errorf("%s: schema %v is not an object with properties", d.Name, d.InputSchema)
		}
		var got []string
		if req, ok := d.InputSchema["required"].([]any); ok {
			for _, r := range req {
				got = append(got, r.(string))
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, required[d.Name]) {
			t.Errorf("%s: required %v, want %v", d.Name, got, required[d.Name])
		}
		props, _ := d.InputSchema["properties"].(map[string]any)
		for name, p := range props {
			if desc, _ := p.(map[string]any)["description"].(string); desc == "" {
				t.Errorf("%s.%s has no description for the model", d.Name, name)
			}
		}
	}
	oa := tools.OpenAI(defs)[1]
	if oa["type"] != "function" || oa["function"].(map[string]any)["name"] != "run_code" || oa["function"].(map[string]any)["parameters"] == nil {
		t.Errorf("OpenAI shape: %v", oa)
	}
	an := tools.Anthropic(defs)[1]
	if an["name"] != "run_code" || an["input_schema"] == nil {
		t.Errorf("Anthropic shape: %v", an)
	}
}

func TestRunner(t *testing.T) {
	s := servertest.Start(t, nil)
	ctx := context.Background()
	c, err := soulbox.New(soulbox.Options{APIURL: s.URL, APIKey: s.APIKey, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	r := tools.NewRunner(c)
	defer r.Close(ctx)

	t.Run("BadArguments", func(t *testing.T) {
		for _, tc := range []struct{ tool, args, want string }{
			{"run_code", `{"code": 42}`, "argument code: want a string, got a JSON number"},
			{"run_code", `{"code": "1", "langauge": "python"}`, `unknown field "langauge"`},
			{"run_code", `{"code": `, "not valid JSON"},
			{"run_code", `null`, "code is empty"},
			{"run_command", `["ls"]`, "want an object"},
			{"expose_port", `{"port": "80"}`, "argument port: want a number, got a JSON string"},
			{"launch_rockets", `{}`, `there is no tool "launch_rockets"`},
			{"run_code", `{"code": "` + strings.Repeat("a", tools.MaxCode+1) + `"}`, "over the limit"},
		} {
			res := r.Call(ctx, tc.tool, json.RawMessage(tc.args))
			if !res.IsError || !strings.Contains(res.Text, tc.want) {
				t.Errorf("%s %.60s = %+v, want an error saying %q", tc.tool, tc.args, res, tc.want)
			}
		}
		if r.DefaultSandbox() != "" {
			t.Errorf("bad calls created sandbox %s", r.DefaultSandbox())
		}
	})

	t.Run("ChartToMessages", func(t *testing.T) {
		res := r.Call(ctx, "run_code", json.RawMessage(`{"code": "import matplotlib.pyplot as plt\nplt.bar(['a','b'], [1,2]); plt.title('ab'); plt.show()"}`))
		if res.IsError || len(res.Images) != 1 || res.Images[0].MIMEType != "image/png" || !strings.Contains(res.Text, `bar chart "ab"`) {
			t.Fatalf("run_code chart = %+v", res)
		}
		block := res.AnthropicBlock("toolu_1")
		content := block["content"].([]map[string]any)
		if block["tool_use_id"] != "toolu_1" || len(content) != 2 || content[1]["type"] != "image" {
			t.Errorf("Anthropic block: %v", block)
		}
		msg := res.OpenAIMessage("call_1")
		if msg["role"] != "tool" || msg["tool_call_id"] != "call_1" || !strings.Contains(msg["content"].(string), "bar chart") {
			t.Errorf("OpenAI message: %v", msg)
		}
		failed := r.Call(ctx, "run_code", json.RawMessage(`{"code": "raise ValueError('nope')"}`))
		if m := failed.OpenAIMessage("call_2"); !strings.HasPrefix(m["content"].(string), "Error: ") || !strings.Contains(m["content"].(string), "ValueError: nope") {
			t.Errorf("an exception as an OpenAI message: %v", m)
		}
		if b := failed.AnthropicBlock("toolu_2"); b["is_error"] != true {
			t.Errorf("an exception as an Anthropic block: %v", b)
		}
	})

	t.Run("CloseKillsTheDefault", func(t *testing.T) {
		id := r.DefaultSandbox()
		if id == "" {
			t.Fatal("no default sandbox after run_code")
		}
		if err := r.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetInfo(ctx, id); err == nil {
			t.Errorf("sandbox %s lives after Close", id)
		}
	})
}
