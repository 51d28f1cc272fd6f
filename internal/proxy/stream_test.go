package proxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// failAfter bounds a wait that only a broken proxy makes long, so that a
// regression fails instead of hanging the run. No ordering depends on it.
const failAfter = 30 * time.Second

// TestResponseStreams: the client must get each chunk while the backend
// is still writing. The backend does not write chunk n+1 before the client
// has read chunk n, so a proxy that buffered would deadlock. With a
// Content-Length (a file download) nothing but FlushInterval -1 makes the
// proxy flush; without one (a Connect stream) the chunks are chunked.
func TestResponseStreams(t *testing.T) {
	h := setup(t)
	const chunks = 3
	for port, length := range map[int]bool{7000: false, 7002: true} {
		t.Run(fmt.Sprintf("content-length %v", length), func(t *testing.T) {
			read := make(chan int)
			h.dialer.serve(t, "abc", port, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/octet-stream")
				if length {
					w.Header().Set("Content-Length", strconv.Itoa(chunks*len("chunk n\n")))
				}
				for i := range chunks {
					fmt.Fprintf(w, "chunk %d\n", i)
					w.(http.Flusher).Flush()
					if i == chunks-1 {
						break
					}
					select {
					case <-read:
					case <-r.Context().Done():
						return
					}
				}
			}))
			ctx, cancel := context.WithTimeout(t.Context(), failAfter)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", h.front.URL+"/files?path=/log", nil)
			req.Header.Set("E2b-Sandbox-Id", "abc")
			req.Header.Set("E2b-Sandbox-Port", strconv.Itoa(port))
			resp, err := h.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			for i := range chunks {
				line, err := br.ReadString('\n')
				if want := fmt.Sprintf("chunk %d\n", i); line != want || err != nil {
					t.Fatalf("read %q, %v; want %q", line, err, want)
				}
				if i == chunks-1 {
					break
				}
				select {
				case read <- i:
				case <-ctx.Done():
					t.Fatal("the backend did not go on")
				}
			}
			if rest, err := io.ReadAll(br); len(rest) != 0 || err != nil {
				t.Errorf("after the chunks: %q, %v", rest, err)
			}
		})
	}
}

// TestRequestBodyStreams uploads 32 MiB in lock step: the client sends
// chunk n+1 only once the backend has received chunk n. A proxy that
// buffered the body would deadlock; one that streams holds at most a
// chunk and its buffers, whatever the size of the upload.
func TestRequestBodyStreams(t *testing.T) {
	h := setup(t)
	const chunk, chunks = 1 << 20, 32
	got := make(chan int)
	h.dialer.serve(t, "abc", 7001, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, chunk)
		for i := range chunks {
			if _, err := io.ReadFull(r.Body, buf); err != nil {
				http.Error(w, fmt.Sprintf("chunk %d: %v", i, err), 400)
				return
			}
			if buf[0] != byte(i) || buf[chunk-1] != byte(i) {
				http.Error(w, fmt.Sprintf("chunk %d holds %d", i, buf[0]), 400)
				return
			}
			got <- i
		}
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "ok, %d bytes after the chunks", n)
	}))

	pr, pw := io.Pipe()
	go func() {
		for i := range chunks {
			if _, err := pw.Write(bytes.Repeat([]byte{byte(i)}, chunk)); err != nil {
				return
			}
			select {
			case <-got:
			case <-time.After(failAfter):
				pw.CloseWithError(fmt.Errorf("the backend did not get chunk %d before the client sent more: the proxy buffers uploads", i))
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", h.front.URL+"/files?path=/big", pr)
	req.Header.Set("E2b-Sandbox-Id", "abc")
	req.Header.Set("E2b-Sandbox-Port", "7001")
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "ok, 0 bytes after the chunks" {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
}
