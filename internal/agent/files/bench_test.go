package files

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"syscall"
	"testing"
	"time"
)

// The benchmarks drive /files as the e2b SDK does: files.write sends a
// multipart form with one "file" part named by its path and the path
// query parameter, files.read a GET whose client (Node's fetch) accepts
// gzip; both as the sandbox's default user, not root. Run them with
//
//	go test -run '^$' -bench . -benchtime 20x ./internal/agent/files

// benchEnv is a /files handler over a temporary home, with a client that
// keeps its connection, as the SDK's does.
type benchEnv struct {
	srv    *httptest.Server
	client *http.Client
	home   string
}

func newBenchEnv(b *testing.B) *benchEnv {
	_, home, st := newHome(b)
	srv := httptest.NewServer(New(st, slog.New(slog.DiscardHandler)))
	b.Cleanup(srv.Close)
	cl := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	b.Cleanup(cl.CloseIdleConnections)
	return &benchEnv{srv: srv, client: cl, home: home}
}

func (e *benchEnv) url(path string) string {
	return e.srv.URL + "/files?" + url.Values{"path": {path}}.Encode()
}

// multipartBody is the SDK's form for one file.
func multipartBody(b *testing.B, path string, data []byte) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", path)
	if err != nil {
		b.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func (e *benchEnv) write(b *testing.B, path, contentType string, body []byte) {
	req, err := http.NewRequest(http.MethodPost, e.url(path), bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := e.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("upload: %d %s", resp.StatusCode, out)
	}
}

func (e *benchEnv) read(b *testing.B, path string, want int) {
	req, err := http.NewRequest(http.MethodGet, e.url(path), nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "gzip, deflate")
	resp, err := e.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			b.Fatal(err)
		}
		r = zr
	}
	n, err := io.Copy(io.Discard, r)
	if err != nil || resp.StatusCode != http.StatusOK || n != int64(want) {
		b.Fatalf("download: %d, %d bytes of %d, %v", resp.StatusCode, n, want, err)
	}
}

// cpuTime is the CPU time this process has used, client and server.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs op b.N times and reports its CPU time per op beside the wall
// time: on a busy machine the wall time follows the neighbours' load,
// the CPU time far less.
func loop(b *testing.B, op func()) {
	b.ResetTimer()
	start := cpuTime(b)
	for b.Loop() {
		op()
	}
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

func noise(n int) []byte {
	p := make([]byte, n)
	rand.NewChaCha8([32]byte{'b'}).Read(p)
	return p
}

func BenchmarkUpload50MB(b *testing.B) {
	e := newBenchEnv(b)
	const path = "upload.bin"
	ct, body := multipartBody(b, path, noise(50<<20))
	b.SetBytes(50 << 20)
	loop(b, func() { e.write(b, path, ct, body) })
}

func BenchmarkWrite1KB(b *testing.B) {
	e := newBenchEnv(b)
	const path = "small.txt"
	ct, body := multipartBody(b, path, noise(1<<10))
	loop(b, func() { e.write(b, path, ct, body) })
}

func BenchmarkRead1KB(b *testing.B) {
	e := newBenchEnv(b)
	const path = "small.txt"
	ct, body := multipartBody(b, path, noise(1<<10))
	e.write(b, path, ct, body)
	loop(b, func() { e.read(b, path, 1<<10) })
}

func BenchmarkRead50MB(b *testing.B) {
	e := newBenchEnv(b)
	const path = "large.bin"
	ct, body := multipartBody(b, path, noise(50<<20))
	e.write(b, path, ct, body)
	b.SetBytes(50 << 20)
	loop(b, func() { e.read(b, path, 50<<20) })
}
