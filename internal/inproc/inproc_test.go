package inproc

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A streamed response reaches the client as written, before the handler
// returns, and closing the body ends the handler's request.
func TestStreamsAndCancels(t *testing.T) {
	ended := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo", string(b)+" "+r.Method+" "+r.URL.Path+" "+r.Host)
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		ended <- r.Context().Err()
	})
	c := &http.Client{Transport: Transport{Handler: func() http.Handler { return h }}}
	resp, err := c.Post("http://self.invalid/x", "text/plain", strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("X-Echo") != "body POST /x self.invalid" {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("X-Echo"))
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	resp.Body.Close()
	select {
	case err := <-ended:
		if err == nil {
			t.Fatal("handler's context not cancelled")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("closing the body did not end the handler")
	}
}

func TestNoHandlerYet(t *testing.T) {
	c := &http.Client{Transport: Transport{Handler: func() http.Handler { return nil }}}
	if _, err := c.Get("http://self.invalid/"); err == nil {
		t.Fatal("a request with no handler succeeded")
	}
}

// A handler that writes nothing answers 200 with an empty body.
func TestEmptyHandler(t *testing.T) {
	c := &http.Client{Transport: Transport{Handler: func() http.Handler { return http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}) }}}
	resp, err := c.Get("http://self.invalid/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(b) != 0 {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}
}
