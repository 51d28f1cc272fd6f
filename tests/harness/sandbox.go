package harness

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/soulbox/soulbox/internal/client"
	"github.com/soulbox/soulbox/internal/testutil"
)

// Output is what a command printed and how it ended.
type Output struct {
	Text string // stdout and stderr, interleaved as received
	Code int    // exit code, -1 when killed by a signal
	Err  error  // the command could not be run or its stream broke
}

// Run runs a bash script in sb as user through the server's proxy, with
// a deadline.
func (s *Server) Run(sb client.Sandbox, user, script string, timeout time.Duration) Output {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var buf testutil.Buffer
	code, err := s.Client.Exec(ctx, sb, []string{"/bin/bash", "-c", script}, client.ExecOptions{User: user, Stdout: &buf, Stderr: &buf})
	return Output{Text: buf.String(), Code: code, Err: err}
}

// Files calls the agent's /files endpoint in sb as user through the
// server's proxy and returns the status and body.
func (s *Server) Files(sb client.Sandbox, method, user, path string, body []byte) (int, string, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+s.Addr+"/files?path="+url.QueryEscape(path), r)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("E2b-Sandbox-Id", sb.SandboxID)
	req.Header.Set("E2b-Sandbox-Port", "49983")
	if sb.EnvdAccessToken != "" {
		req.Header.Set("X-Access-Token", sb.EnvdAccessToken)
	}
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":")))
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	c := &http.Client{Timeout: time.Minute}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), nil
}
