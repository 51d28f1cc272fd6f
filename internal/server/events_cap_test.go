package server_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/api"
)

// TestEventsStreamsCappedPerTeam: a team may follow only so many event
// streams at once; the next is a 429 saying so, a stream that does not
// follow is not counted, and closing one frees its place.
func TestEventsStreamsCappedPerTeam(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server")
	}
	c, _ := runServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancels []context.CancelFunc
	for i := range api.DefaultMaxStreamsPerTeam {
		sctx, scancel := context.WithCancel(ctx)
		cancels = append(cancels, scancel)
		if resp, _ := openEvents(t, sctx, c.base, c.key, "", ""); resp.StatusCode != 200 {
			t.Fatalf("stream %d: %d", i+1, resp.StatusCode)
		}
	}
	resp, _ := openEvents(t, ctx, c.base, c.key, "", "")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if resp.StatusCode != 429 || json.Unmarshal(b, &e) != nil || e.Code != 429 || !strings.Contains(e.Message, "event streams open") {
		t.Fatalf("stream %d: %d %s, want 429 saying why", api.DefaultMaxStreamsPerTeam+1, resp.StatusCode, b)
	}
	// Reading what happened so far is not a stream kept open.
	if resp, _ := openEvents(t, ctx, c.base, c.key, "", "?follow=false"); resp.StatusCode != 200 {
		t.Errorf("follow=false at the cap: %d", resp.StatusCode)
	}
	// One closed: a place is free again (once the server saw it go).
	cancels[0]()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, _ := openEvents(t, ctx, c.base, c.key, "", "")
		if resp.StatusCode == 200 {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatalf("after closing a stream: %d", resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
