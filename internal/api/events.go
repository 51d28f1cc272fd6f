package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/httperr"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/store"
)

// EventLog is the store's lifecycle event log, which GET /events streams.
type EventLog interface {
	EventsAfter(ctx context.Context, f store.EventFilter) ([]store.Event, error)
	GetSandbox(ctx context.Context, id string) (store.Sandbox, error)
}

// EventNotifier is the optional ability of an EventLog to say when it
// recorded events (notify.Store): a stream then reads the log when told,
// and only every eventsRecheck besides, for writers it does not see.
// Without it a stream reads every eventsPoll.
type EventNotifier interface {
	Changed() <-chan struct{}
}

// How GET /events follows the log: the store is read when it announces
// events, at most once per eventsPoll (every eventsPoll if it cannot
// announce), eventsPage events at a time,
// and an idle stream gets a comment every eventsKeepalive so that
// proxies keep it.
const (
	eventsPoll      = 250 * time.Millisecond
	eventsRecheck   = 5 * time.Second
	eventsPage      = 200
	eventsKeepalive = 15 * time.Second
)

// DefaultMaxStreamsPerTeam is how many GET /events streams one team may
// have open at once unless configured: each holds a connection and reads
// the log on every change.
const DefaultMaxStreamsPerTeam = 16

// streamSlots counts the open event streams of each team.
type streamSlots struct {
	mu   sync.Mutex
	open map[string]int
}

// take reserves a stream for team, or says why not.
func (s *streamSlots) take(team string, most int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[team] >= most {
		return fmt.Errorf("your team has %d event streams open, the most it may: close one, or follow one stream and share it: %w", s.open[team], errdefs.ErrResourceExhausted)
	}
	if s.open == nil {
		s.open = map[string]int{}
	}
	s.open[team]++
	return nil
}

func (s *streamSlots) release(team string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[team]--; s.open[team] <= 0 {
		delete(s.open, team)
	}
}

// eventJSON is the data of one server-sent event.
type eventJSON struct {
	ID        int64     `json:"id"`
	SandboxID string    `json:"sandboxID"`
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Message   string    `json:"message,omitempty"`
	// Reason is why an ended sandbox ended: killed, timeout, oom, error
	// or lost.
	Reason string `json:"reason,omitempty"`
}

// events streams the caller's team's sandbox lifecycle events as
// server-sent events (id: the event id, event: its type, data: JSON),
// oldest first, from after the Last-Event-ID header or ?lastEventId=
// (0 or none: from the first), then as they are recorded; ?follow=false
// ends the stream once it has caught up.
func (a *API) events(w http.ResponseWriter, r *http.Request) {
	after, follow, err := parseEventsQuery(r)
	if err != nil {
		httperr.Write(w, r, a.log, err)
		return
	}
	if a.eventLog == nil {
		httperr.Write(w, r, a.log, fmt.Errorf("the event log is not available: %w", errdefs.ErrUnavailable))
		return
	}
	ctx, stopRecheck := a.whileCredentialWorks(r)
	defer stopRecheck()
	team := a.team(r)
	if follow {
		if err := a.streams.take(team, a.maxStreams); err != nil {
			httperr.Write(w, r, a.log, err)
			return
		}
		defer a.streams.release(team)
	}
	// Taken before each read: an event recorded while the read runs
	// still wakes the stream.
	var changed <-chan struct{}
	notifier, _ := a.eventLog.(EventNotifier)
	every := eventsPoll
	if notifier != nil {
		changed, every = notifier.Changed(), eventsRecheck
	}
	// The first read answers errors with a status; later ones can only
	// end the stream.
	lastRead := time.Now()
	first, err := a.eventLog.EventsAfter(ctx, store.EventFilter{After: after, Team: team, Limit: eventsPage})
	if err != nil {
		httperr.Write(w, r, a.log, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	// However the stream ends, one whose credential stopped working says
	// so last: the recheck cancels ctx, which any wait or read may see
	// first.
	defer func() {
		if errors.Is(context.Cause(ctx), errCredentialEnded) {
			b, _ := json.Marshal(map[string]string{"message": context.Cause(ctx).Error()})
			fmt.Fprintf(w, "event: error\ndata: %s\n\n", b)
			_ = rc.Flush()
		}
	}()
	poll, keepalive := time.NewTicker(every), time.NewTicker(eventsKeepalive)
	defer poll.Stop()
	defer keepalive.Stop()
	evs := first
	for {
		for _, ev := range evs {
			if err := a.writeEvent(ctx, w, ev); err != nil {
				return
			}
			after = ev.ID
		}
		if len(evs) > 0 {
			if rc.Flush() != nil {
				return
			}
			keepalive.Reset(eventsKeepalive)
		}
		if len(evs) < eventsPage {
			if !follow {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-a.stop:
				return
			case <-keepalive.C:
				if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil || rc.Flush() != nil {
					return
				}
				continue
			case <-changed:
				// Every team's events wake every stream: a stream reads
				// at most once per eventsPoll, however busy other teams
				// are.
				if !a.waitGap(ctx, lastRead) {
					return
				}
			case <-poll.C:
			}
		}
		if notifier != nil {
			changed = notifier.Changed()
		}
		lastRead = time.Now()
		if evs, err = a.eventLog.EventsAfter(ctx, store.EventFilter{After: after, Team: team, Limit: eventsPage}); err != nil {
			if ctx.Err() == nil {
				a.log.Error("events stream: read the event log", logx.Err(err))
				b, _ := json.Marshal(map[string]string{"message": "reading the event log failed: reconnect with Last-Event-ID to resume"})
				fmt.Fprintf(w, "event: error\ndata: %s\n\n", b)
			}
			return
		}
	}
}

// waitGap waits until eventsPoll has passed since a stream's last read,
// false if the stream or the server ends first.
func (a *API) waitGap(ctx context.Context, lastRead time.Time) bool {
	wait := eventsPoll - time.Since(lastRead)
	if wait <= 0 {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-a.stop:
		return false
	case <-t.C:
		return true
	}
}

func (a *API) writeEvent(ctx context.Context, w http.ResponseWriter, ev store.Event) error {
	data := eventJSON{ID: ev.ID, SandboxID: ev.SandboxID, Type: ev.Type, Timestamp: ev.Time, Message: ev.Message}
	if ev.Type == store.EventEnded {
		if sb, err := a.eventLog.GetSandbox(ctx, ev.SandboxID); err == nil {
			data.Reason = string(sb.EndReason)
		}
	}
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, b)
	return err
}

// parseEventsQuery reads where a stream resumes and whether it follows.
func parseEventsQuery(r *http.Request) (after int64, follow bool, err error) {
	q := r.URL.Query()
	id, name := r.Header.Get("Last-Event-ID"), "Last-Event-ID"
	if id == "" {
		id, name = q.Get("lastEventId"), "lastEventId"
	}
	if id != "" {
		after, err = strconv.ParseInt(id, 10, 64)
		if err != nil || after < 0 {
			return 0, false, fmt.Errorf("%s %q: use the id of an event received, a non-negative integer: %w", name, id, errdefs.ErrInvalidArgument)
		}
	}
	follow = true
	if s := q.Get("follow"); s != "" {
		if follow, err = strconv.ParseBool(s); err != nil {
			return 0, false, fmt.Errorf("follow %q: use true or false: %w", s, errdefs.ErrInvalidArgument)
		}
	}
	return after, follow, nil
}
