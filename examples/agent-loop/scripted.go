package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// scriptedModel replays a script of turns, each a function of the
// conversation so far: a stand-in for an LLM that reads the tool results
// it is given, as a real one would.
type scriptedModel struct {
	turns []func(messages []map[string]any) Reply
	next  int
}

func (m *scriptedModel) Next(_ context.Context, messages []map[string]any, _ []map[string]any) (Reply, error) {
	if m.next >= len(m.turns) {
		return Reply{}, fmt.Errorf("the script has no turn %d", m.next+1)
	}
	r := m.turns[m.next](messages)
	m.next++
	return r, nil
}

// lastTool is the content of the last tool message.
func lastTool(messages []map[string]any) string {
	for i := len(messages) - 1; i >= 0; i-- {
		if messages[i]["role"] == "tool" {
			return messages[i]["content"].(string)
		}
	}
	return ""
}

func args(v map[string]any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// scripted is a model that computes 1+...+100, makes a typing mistake on
// the way (and corrects it from the error it reads), and writes a report.
func scripted() Model {
	var sum string
	return &scriptedModel{turns: []func([]map[string]any) Reply{
		func([]map[string]any) Reply {
			return Reply{ToolCalls: []ToolCall{{ID: "call_1", Name: "run_code", Arguments: `{"code": 100}`}}}
		},
		func(msgs []map[string]any) Reply {
			if !strings.Contains(lastTool(msgs), "want a string") {
				return Reply{Content: "I could not understand the error: " + lastTool(msgs)}
			}
			return Reply{ToolCalls: []ToolCall{{ID: "call_2", Name: "run_code", Arguments: args(map[string]any{"code": "sum(range(1, 101))"})}}}
		},
		func(msgs []map[string]any) Reply {
			sum = strings.TrimPrefix(lastTool(msgs), "value: ")
			return Reply{ToolCalls: []ToolCall{
				{ID: "call_3", Name: "write_file", Arguments: args(map[string]any{"path": "report.md", "content": "The sum of 1..100 is " + sum + ".\n"})},
				{ID: "call_4", Name: "run_command", Arguments: args(map[string]any{"command": "cat report.md"})},
			}}
		},
		func(msgs []map[string]any) Reply {
			var out struct{ Stdout string }
			_ = json.Unmarshal([]byte(lastTool(msgs)), &out)
			return Reply{Content: "Done. report.md says: " + strings.TrimSpace(out.Stdout)}
		},
	}}
}
