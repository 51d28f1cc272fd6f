package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

type sseEvent struct {
	id   int64
	typ  string
	data struct {
		ID        int64     `json:"id"`
		SandboxID string    `json:"sandboxID"`
		Type      string    `json:"type"`
		Timestamp time.Time `json:"timestamp"`
		Reason    string    `json:"reason"`
		Message   string    `json:"message"`
	}
}

// openEvents starts GET /events with key and returns the events as they
// arrive; the channel closes when the stream ends.
func openEvents(t *testing.T, ctx context.Context, base, key, lastID, query string) (*http.Response, <-chan sseEvent) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/events"+query, nil)
	req.Header.Set("X-API-Key", key)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan sseEvent, 100)
	if resp.StatusCode != 200 {
		close(ch)
		return resp, ch
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				ev.id, _ = strconv.ParseInt(strings.TrimPrefix(line, "id: "), 10, 64)
			case strings.HasPrefix(line, "event: "):
				ev.typ = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data); err != nil {
					t.Errorf("data %q: %v", line, err)
				}
			case line == "" && ev.typ != "":
				ch <- ev
				ev = sseEvent{}
			}
		}
	}()
	return resp, ch
}

// next returns the next event of sandbox id, skipping others.
func next(t *testing.T, ch <-chan sseEvent, id string) sseEvent {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("the stream ended before the next event of %s", id)
			}
			if ev.data.SandboxID == id {
				return ev
			}
		case <-timeout:
			t.Fatalf("no event of %s for 30 s", id)
		}
	}
}

// TestEventsStream follows the lifecycle of a sandbox through GET
// /events, resumes it by Last-Event-ID, and checks that another team
// sees none of it.
func TestEventsStream(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a real sandbox")
	}
	c, cfg := runServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	db, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _, err := auth.Create(ctx, db, "other", "team-b", false)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, other := openEvents(t, ctx, c.base, otherKey, "", "")
	_, mine := openEvents(t, ctx, c.base, c.key, "", "")

	var sb sandboxJSON
	c.want(201, "POST", "/sandboxes", map[string]any{"templateID": "base"}, &sb)
	c.want(204, "POST", "/sandboxes/"+sb.SandboxID+"/pause", nil, nil)
	c.want(201, "POST", "/sandboxes/"+sb.SandboxID+"/connect", map[string]any{"timeout": 60}, nil)
	c.want(204, "DELETE", "/sandboxes/"+sb.SandboxID, nil, nil)

	var got []sseEvent
	// A pause and a resume each record the step under way first
	// (pausing, resuming). A resumed sandbox lives the connect's timeout
	// from now: its end is moved (timeout_extended) after it resumed.
	for _, want := range []string{"created", "started", "pausing", "paused", "resuming", "resumed", "timeout_extended", "ended"} {
		ev := next(t, mine, sb.SandboxID)
		if ev.typ != want || ev.data.Type != want || ev.id != ev.data.ID || ev.data.Timestamp.IsZero() {
			t.Fatalf("event %+v, want %s", ev, want)
		}
		if len(got) > 0 && ev.id <= got[len(got)-1].id {
			t.Errorf("event id %d after %d", ev.id, got[len(got)-1].id)
		}
		got = append(got, ev)
	}
	if r := got[7].data.Reason; r != "killed" {
		t.Errorf("ended with reason %q, want killed", r)
	}

	// Resumed after "paused": the rest, then the end of a stream that does
	// not follow.
	_, resumed := openEvents(t, ctx, c.base, c.key, strconv.FormatInt(got[3].id, 10), "?follow=false")
	var types []string
	for ev := range resumed {
		types = append(types, ev.typ)
	}
	if strings.Join(types, ",") != "resuming,resumed,timeout_extended,ended" {
		t.Errorf("resumed after paused: %v, want resuming,resumed,timeout_extended,ended", types)
	}
	// The query parameter works for clients that cannot set headers.
	_, byQuery := openEvents(t, ctx, c.base, c.key, "", "?follow=false&lastEventId="+strconv.FormatInt(got[6].id, 10))
	if ev, ok := <-byQuery; !ok || ev.typ != "ended" {
		t.Errorf("after resumed by query: %+v %v", ev, ok)
	}

	// Another team's stream saw nothing of it.
	select {
	case ev := <-other:
		t.Errorf("team-b saw %+v", ev)
	case <-time.After(500 * time.Millisecond):
	}
}

func TestEventsBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	c, _ := runServer(t, nil)
	for _, tc := range []struct {
		lastID, query string
		code          int
		says          string
	}{
		{"abc", "", 400, "Last-Event-ID"},
		{"-1", "", 400, "Last-Event-ID"},
		{"", "?lastEventId=1.5", 400, "lastEventId"},
		{"", "?follow=perhaps", 400, "follow"},
	} {
		resp, _ := openEvents(t, context.Background(), c.base, c.key, tc.lastID, tc.query)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if resp.StatusCode != tc.code || json.Unmarshal(b, &e) != nil || e.Code != tc.code || !strings.Contains(e.Message, tc.says) {
			t.Errorf("Last-Event-ID %q %s: %d %s", tc.lastID, tc.query, resp.StatusCode, b)
		}
	}
	noKey := c
	noKey.key = ""
	if code, b, _ := noKey.do("GET", "/events", nil); code != 401 {
		t.Errorf("without a key: %d %s", code, b)
	}
	if code, b, _ := c.do("POST", "/events", nil); code != 404 || !strings.Contains(string(b), `"code"`) {
		t.Errorf("POST /events: %d %s", code, b)
	}
}

// TestEventsStreamEndsAtShutdown: an open stream does not hold the
// server's shutdown.
func TestEventsStreamEndsAtShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	cfg := testConfig(t)
	cfg.AdminKey, _, _ = auth.Generate()
	addr, stop := serveInProcess(t, cfg)
	_, ch := openEvents(t, context.Background(), "http://"+addr, cfg.AdminKey, "", "")
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("stop with a stream open: %v", err)
	}
	if _, ok := <-ch; ok {
		t.Error("an event after shutdown")
	}
	t.Logf("stopped in %v", time.Since(start))
}
