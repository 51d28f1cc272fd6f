package tools

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// Result is the outcome of a tool call, for the model.
type Result struct {
	// Text is what the model reads: output, a value, or what went wrong.
	Text string
	// Images are figures and image files, for models that see images.
	Images []Image
	// Structured is the result as data (also in Text as JSON), when the
	// tool has one.
	Structured any
	// IsError says the call failed; Text says why and what to do.
	IsError bool
}

// Image is an image of a result.
type Image struct {
	MIMEType string
	Data     []byte
}

func structured(v any) Result {
	b, _ := json.Marshal(v)
	return Result{Text: string(b), Structured: v}
}

// OpenAIMessage is the result as an OpenAI Chat Completions message
// answering the tool call callID: {"role": "tool", "tool_call_id",
// "content"}. Tool messages carry text only, so images are mentioned, not
// attached; pass them in a user message if the model should see them.
func (r Result) OpenAIMessage(callID string) map[string]any {
	text := r.Text
	if r.IsError {
		text = "Error: " + text
	}
	return map[string]any{"role": "tool", "tool_call_id": callID, "content": text}
}

// AnthropicBlock is the result as an Anthropic Messages API tool_result
// content block answering the tool_use toolUseID, images included.
func (r Result) AnthropicBlock(toolUseID string) map[string]any {
	content := []map[string]any{{"type": "text", "text": r.Text}}
	for _, img := range r.Images {
		content = append(content, map[string]any{"type": "image", "source": map[string]any{
			"type": "base64", "media_type": img.MIMEType, "data": base64.StdEncoding.EncodeToString(img.Data)}})
	}
	block := map[string]any{"type": "tool_result", "tool_use_id": toolUseID, "content": content}
	if r.IsError {
		block["is_error"] = true
	}
	return block
}

// executionResult is what a model reads of an execution: one text (output,
// results, error) and an image per figure.
func executionResult(ex *soulbox.Execution) Result {
	var b strings.Builder
	if s := strings.Join(ex.Stdout, ""); s != "" {
		fmt.Fprintf(&b, "stdout:\n%s\n", truncate(s))
	}
	if s := strings.Join(ex.Stderr, ""); s != "" {
		fmt.Fprintf(&b, "stderr:\n%s\n", truncate(s))
	}
	var res Result
	for _, r := range ex.Results {
		png, _ := r.PNG()
		switch {
		case png != nil:
			res.Images = append(res.Images, Image{MIMEType: "image/png", Data: png})
			desc := "figure"
			if r.Chart != nil {
				desc = fmt.Sprintf("%s chart %q", r.Chart.Type, r.Chart.Title)
			}
			fmt.Fprintf(&b, "result: a %s (image attached)\n", desc)
		case r.JPEGBase64 != "":
			if jpg, err := base64.StdEncoding.DecodeString(r.JPEGBase64); err == nil {
				res.Images = append(res.Images, Image{MIMEType: "image/jpeg", Data: jpg})
				b.WriteString("result: an image (attached)\n")
			}
		case r.Text != "":
			label := "result"
			if r.IsMainResult {
				label = "value"
			}
			fmt.Fprintf(&b, "%s: %s\n", label, truncate(r.Text))
		case r.HTML != "" || r.Markdown != "" || len(r.JSON) > 0:
			fmt.Fprintf(&b, "result formats: %s\n", strings.Join(r.Formats(), ", "))
		}
	}
	if ex.Error != nil {
		fmt.Fprintf(&b, "error: %s: %s\n%s\n", ex.Error.Name, ex.Error.Value, truncate(ex.Error.Traceback))
		res.IsError = true
	}
	if b.Len() == 0 {
		b.WriteString("(no output)")
	}
	res.Text = strings.TrimRight(b.String(), "\n")
	return res
}

// fileContent is a file for a model: text as text, images as images,
// other bytes described.
func fileContent(path string, b []byte) Result {
	switch ct := http.DetectContentType(b); {
	case ct == "image/png" || ct == "image/jpeg" || ct == "image/gif" || ct == "image/webp":
		return Result{Text: fmt.Sprintf("%s: %s, %d bytes (attached)", path, ct, len(b)), Images: []Image{{MIMEType: ct, Data: b}}}
	case utf8.Valid(b):
		return Result{Text: string(b)}
	default:
		return Result{Text: fmt.Sprintf("%s is binary (%s, %d bytes); inspect it with run_command (file, xxd, python)", path, ct, len(b))}
	}
}

// truncate keeps a text within MaxText, saying what was cut.
func truncate(s string) string {
	if len(s) <= MaxText {
		return s
	}
	return s[:MaxText] + fmt.Sprintf("\n[... %d more bytes cut]", len(s)-MaxText)
}
