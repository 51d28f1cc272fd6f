package soulbox

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"

	"connectrpc.com/connect"

	"github.com/soulbox/soulbox/api/envd/filesystem/filesystemconnect"
	"github.com/soulbox/soulbox/api/envd/process/processconnect"
	"github.com/soulbox/soulbox/internal/envd"
)

// headerInterceptor sets headers on every unary and streaming call.
type headerInterceptor func(http.Header)

func (f headerInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		f(req.Header())
		return next(ctx, req)
	}
}

func (f headerInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		f(conn.RequestHeader())
		return conn
	}
}

func (f headerInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// basicUser is how E2B's SDKs name the user: Basic auth with no password.
func basicUser(user string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"))
}

// process is the agent's Process service, as user ("" is the sandbox's
// default user).
func (sb *Sandbox) process(user string) processconnect.ProcessClient {
	base, _ := sb.base(envd.Port)
	return processconnect.NewProcessClient(sb.c.http, base, connect.WithInterceptors(headerInterceptor(func(h http.Header) {
		sb.setHeaders(h, envd.Port, user)
	})))
}

// filesystem is the agent's Filesystem service, as user.
func (sb *Sandbox) filesystem(user string) filesystemconnect.FilesystemClient {
	base, _ := sb.base(envd.Port)
	return filesystemconnect.NewFilesystemClient(sb.c.http, base, connect.WithInterceptors(headerInterceptor(func(h http.Header) {
		sb.setHeaders(h, envd.Port, user)
	})))
}

// request builds a plain HTTP request to port of the sandbox.
func (sb *Sandbox) request(ctx context.Context, port int, method, pathQuery, user string, body io.Reader) (*http.Request, error) {
	base, _ := sb.base(port)
	req, err := http.NewRequestWithContext(ctx, method, base+pathQuery, body)
	if err != nil {
		return nil, err
	}
	sb.setHeaders(req.Header, port, user)
	return req, nil
}

// send sends a request to the sandbox and returns the response of a
// success, or the error the answer says.
func (sb *Sandbox) send(ctx context.Context, req *http.Request) (*http.Response, error) {
	resp, err := sb.c.http.Do(req)
	if err != nil {
		return nil, transportError(ctx, "sandbox "+sb.ID, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, httpError(resp.StatusCode, resp.Header, b)
	}
	return resp, nil
}
