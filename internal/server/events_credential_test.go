package server_test

import (
	"context"
	"testing"
	"time"
)

// TestEventsStreamEndsWithItsCredential: an open GET /events stream ends,
// with an error event saying why, within a few seconds of its key being
// revoked or its access token expiring; a stream whose key still works
// stays open.
func TestEventsStreamEndsWithItsCredential(t *testing.T) {
	admin, _ := runServer(t, nil)
	_, keys := newTeam(t, admin, "streams", "owner", "developer")
	owner, dev := keys["owner"], keys["developer"]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	devResp, devStream := openEvents(t, ctx, admin.base, dev.key, "", "")
	ownerResp, ownerStream := openEvents(t, ctx, admin.base, owner.key, "", "")
	if devResp.StatusCode != 200 || ownerResp.StatusCode != 200 {
		t.Fatalf("streams: %d, %d", devResp.StatusCode, ownerResp.StatusCode)
	}
	var tok tokenJSON
	owner.want(201, "POST", "/access-tokens", map[string]any{"ttlSeconds": 6}, &tok)
	resp, tokStream := openEvents(t, ctx, admin.base, tok.Token, "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("stream with a token: %d", resp.StatusCode)
	}

	var listed []struct{ ID, Name string }
	owner.want(200, "GET", "/api-keys", nil, &listed)
	for _, k := range listed {
		if k.Name == "developer" {
			owner.want(204, "DELETE", "/api-keys/"+k.ID, nil, nil)
		}
	}
	for name, ch := range map[string]<-chan sseEvent{"revoked key": devStream, "expired token": tokStream} {
		ev, ended := waitEnd(ch, 30*time.Second)
		if !ended || ev.typ != "error" {
			t.Errorf("%s: stream ended %v, last event %+v; want it ended with an error event", name, ended, ev)
		}
	}
	if _, ended := waitEnd(ownerStream, time.Second); ended {
		t.Error("the owner's stream ended though its key works")
	}
}

// waitEnd reads ch until it closes or d passes, returning the last event
// and whether it closed.
func waitEnd(ch <-chan sseEvent, d time.Duration) (sseEvent, bool) {
	var last sseEvent
	timeout := time.After(d)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return last, true
			}
			last = ev
		case <-timeout:
			return last, false
		}
	}
}
