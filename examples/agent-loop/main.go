// Command agent-loop drives an LLM's function-calling loop with SoulBox's
// tools: the model asks for tool calls, sdk/go/soulbox/tools executes them
// in a sandbox, and the results go back to the model as tool messages
// until it answers.
//
// With OPENAI_API_KEY set it talks to OpenAI's Chat Completions API
// (OPENAI_MODEL, default gpt-4o-mini; OPENAI_BASE_URL for a compatible
// server such as a local vLLM or Ollama). Without it, a scripted model
// plays the part, which is how the tests run it: no LLM is needed.
//
//	export SOULBOX_API_URL=http://127.0.0.1:3000 SOULBOX_API_KEY=...
//	go run ./examples/agent-loop "What is the sum of the integers from 1 to 100?"
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
	"github.com/soulbox/soulbox/sdk/go/soulbox/tools"
)

// Model is a chat model that can call tools: given the conversation (in
// OpenAI's message shape) and the tools, it answers or asks for calls.
type Model interface {
	Next(ctx context.Context, messages []map[string]any, tools []map[string]any) (Reply, error)
}

// Reply is a model's turn.
type Reply struct {
	Content   string
	ToolCalls []ToolCall
}

// ToolCall is one call a model asks for; Arguments is JSON text.
type ToolCall struct {
	ID, Name, Arguments string
}

func main() {
	task := "What is the sum of the integers from 1 to 100? Write the answer to report.md."
	if len(os.Args) > 1 {
		task = strings.Join(os.Args[1:], " ")
	}
	client, err := soulbox.New(soulbox.Options{})
	if err != nil {
		log.Fatal(err)
	}
	var model Model = scripted()
	if key := os.Getenv("OPENAI_API_KEY"); key != "" {
		model = openAI{key: key, base: first(os.Getenv("OPENAI_BASE_URL"), "https://api.openai.com/v1"), model: first(os.Getenv("OPENAI_MODEL"), "gpt-4o-mini")}
	}
	answer, err := run(context.Background(), client, model, task, os.Stdout)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(answer)
}

// run is the loop: at most maxSteps model turns.
func run(ctx context.Context, client *soulbox.Client, model Model, task string, log io.Writer) (string, error) {
	const maxSteps = 10
	runner := tools.NewRunner(client)
	defer runner.Close(context.WithoutCancel(ctx)) // the conversation's sandbox goes with it
	defs := tools.OpenAI(tools.Definitions())
	messages := []map[string]any{
		{"role": "system", "content": "You solve tasks by running code in a sandbox with the tools given. Answer briefly."},
		{"role": "user", "content": task},
	}
	for range maxSteps {
		reply, err := model.Next(ctx, messages, defs)
		if err != nil {
			return "", err
		}
		turn := map[string]any{"role": "assistant", "content": reply.Content}
		if len(reply.ToolCalls) > 0 {
			calls := make([]map[string]any, 0, len(reply.ToolCalls))
			for _, tc := range reply.ToolCalls {
				calls = append(calls, map[string]any{"id": tc.ID, "type": "function", "function": map[string]any{"name": tc.Name, "arguments": tc.Arguments}})
			}
			turn["tool_calls"] = calls
		}
		messages = append(messages, turn)
		if len(reply.ToolCalls) == 0 {
			return reply.Content, nil
		}
		for _, tc := range reply.ToolCalls {
			res := runner.Call(ctx, tc.Name, json.RawMessage(tc.Arguments))
			fmt.Fprintf(log, "-> %s %s\n<- %s\n", tc.Name, tc.Arguments, firstLine(res.Text, res.IsError))
			messages = append(messages, res.OpenAIMessage(tc.ID))
		}
	}
	return "", errors.New("the model did not answer within the step limit")
}

func firstLine(s string, isErr bool) string {
	line, _, _ := strings.Cut(s, "\n")
	if isErr {
		return "error: " + line
	}
	return line
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// openAI is a Model on OpenAI's Chat Completions API (or a compatible one).
type openAI struct{ key, base, model string }

func (m openAI) Next(ctx context.Context, messages []map[string]any, tools []map[string]any) (Reply, error) {
	body, _ := json.Marshal(map[string]any{"model": m.model, "messages": messages, "tools": tools})
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(m.base, "/")+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return Reply{}, err
	}
	req.Header.Set("Authorization", "Bearer "+m.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	var out struct {
		Choices []struct {
			Message struct {
				Content   string `json:"content"`
				ToolCalls []struct {
					ID       string `json:"id"`
					Function struct {
						Name      string `json:"name"`
						Arguments string `json:"arguments"`
					} `json:"function"`
				} `json:"tool_calls"`
			} `json:"message"`
		} `json:"choices"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return Reply{}, fmt.Errorf("chat completions: HTTP %d: %w", resp.StatusCode, err)
	}
	if out.Error != nil || len(out.Choices) == 0 {
		return Reply{}, fmt.Errorf("chat completions: HTTP %d: %+v", resp.StatusCode, out.Error)
	}
	msg := out.Choices[0].Message
	r := Reply{Content: msg.Content}
	for _, tc := range msg.ToolCalls {
		r.ToolCalls = append(r.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	return r, nil
}
