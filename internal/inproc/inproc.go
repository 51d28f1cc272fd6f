// Package inproc carries HTTP requests to a handler in the same process,
// with no listener or connection in between: a client of the server's own
// API (the MCP sessions' SDK client) reaches it whatever its listener
// speaks (plain HTTP or TLS), and responses stream as the handler writes
// and flushes them.
package inproc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// Transport is an http.RoundTripper that serves each request with the
// handler Handler returns at that time.
type Transport struct {
	Handler func() http.Handler
	// RemoteAddr is what the handler sees as the client's address.
	RemoteAddr string
}

// RoundTrip serves req in a new goroutine and returns the response once
// the handler has written its header (or returned). Closing the
// response's body cancels the handler's request context.
func (t Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	h := t.Handler()
	if h == nil {
		closeBody(req)
		return nil, fmt.Errorf("inproc: no handler yet: %w", errdefs.ErrUnavailable)
	}
	ctx, cancel := context.WithCancel(req.Context())
	in := req.Clone(ctx)
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = t.RemoteAddr
	if in.Host == "" {
		in.Host = req.URL.Host
	}
	if in.Body == nil {
		in.Body = http.NoBody
	}
	if in.Proto == "" {
		in.Proto, in.ProtoMajor, in.ProtoMinor = "HTTP/1.1", 1, 1
	}
	pr, pw := io.Pipe()
	w := &writer{header: http.Header{}, body: pw, ready: make(chan struct{})}
	go func() {
		defer func() {
			if p := recover(); p != nil && p != http.ErrAbortHandler {
				pw.CloseWithError(fmt.Errorf("inproc: handler panicked: %v", p))
			}
			w.writeHeader(http.StatusOK) // a handler that wrote nothing
			pw.Close()
			in.Body.Close()
		}()
		h.ServeHTTP(w, in)
	}()
	select {
	case <-w.ready:
	case <-ctx.Done():
		cancel()
		pr.CloseWithError(ctx.Err())
		return nil, ctx.Err()
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", w.code, http.StatusText(w.code)), StatusCode: w.code,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.sent, Body: &body{PipeReader: pr, cancel: cancel}, ContentLength: -1, Request: req,
	}, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// body is the response's body: closing it ends the handler's request.
type body struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (b *body) Close() error {
	b.cancel()
	return b.PipeReader.Close()
}

// writer is the handler's http.ResponseWriter: the header goes to the
// waiting RoundTrip once, the body through the pipe.
type writer struct {
	header http.Header
	body   *io.PipeWriter
	once   sync.Once
	ready  chan struct{}
	code   int
	sent   http.Header
}

func (w *writer) Header() http.Header { return w.header }

func (w *writer) WriteHeader(code int) {
	if code >= 100 && code < 200 {
		return // informational: the client sees the final answer only
	}
	w.writeHeader(code)
}

func (w *writer) writeHeader(code int) {
	w.once.Do(func() {
		w.code, w.sent = code, w.header.Clone()
		close(w.ready)
	})
}

func (w *writer) Write(p []byte) (int, error) {
	w.writeHeader(http.StatusOK)
	return w.body.Write(p)
}

// Flush does nothing: every Write reaches the reader as it is made.
func (w *writer) Flush() { w.writeHeader(http.StatusOK) }
