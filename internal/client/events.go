package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Event is one sandbox lifecycle event of GET /events.
type Event struct {
	ID        int64     `json:"id"`
	SandboxID string    `json:"sandboxID"`
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Message   string    `json:"message,omitempty"`
	// Reason is why an ended sandbox ended.
	Reason string `json:"reason,omitempty"`
}

// Events reads the team's lifecycle events recorded after the event
// after (0: from the first) and calls fn with each, in order. With follow
// it goes on with new events until ctx ends or fn fails; without, it
// returns once it has caught up. The last id fn saw resumes a broken
// stream.
func (c *Client) Events(ctx context.Context, after int64, follow bool, fn func(Event) error) error {
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(c.BaseURL, "/")+"/events?follow="+strconv.FormatBool(follow), nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-API-Key", c.APIKey)
	req.Header.Set("Accept", "text/event-stream")
	if after > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(after, 10))
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(b))
		}
		return fmt.Errorf("events: %d: %s", resp.StatusCode, e.Message)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var kind string
	var data []byte
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			kind = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: ")...)
		case line == "" && len(data) > 0:
			if kind == "error" {
				var e struct {
					Message string `json:"message"`
				}
				_ = json.Unmarshal(data, &e)
				return fmt.Errorf("events: the server ended the stream: %s", e.Message)
			}
			var ev Event
			if err := json.Unmarshal(data, &ev); err != nil {
				return fmt.Errorf("events: unexpected data %q: %w", data, err)
			}
			if err := fn(ev); err != nil {
				return err
			}
			kind, data = "", nil
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("events: %w", err)
	}
	return nil
}
