package api

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// notifyingLog is an event log in memory that announces its events, as
// notify.Store does, and counts its reads.
type notifyingLog struct {
	mu      sync.Mutex
	evs     []store.Event
	changed chan struct{}
	reads   atomic.Int64
}

func (l *notifyingLog) EventsAfter(_ context.Context, f store.EventFilter) ([]store.Event, error) {
	l.reads.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []store.Event
	for _, ev := range l.evs {
		if ev.ID > f.After {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (l *notifyingLog) GetSandbox(context.Context, string) (store.Sandbox, error) {
	return store.Sandbox{}, nil
}

func (l *notifyingLog) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

func (l *notifyingLog) record(ev store.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, ev)
	close(l.changed)
	l.changed = make(chan struct{})
}

// TestEventsWaitForNotification: a stream on a log that announces its
// events reads it when told, not on a timer: idle for a second it reads
// no more than when it opened, and an event recorded then arrives.
func TestEventsWaitForNotification(t *testing.T) {
	l := &notifyingLog{changed: make(chan struct{})}
	a := New(Config{Events: l})
	srv := httptest.NewServer(http.HandlerFunc(a.events))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	time.Sleep(time.Second)
	if n := l.reads.Load(); n != 1 {
		t.Errorf("an idle stream read the log %d times in a second, want once (when it opened)", n)
	}
	l.record(store.Event{ID: 1, SandboxID: "sb", Type: "created", Time: time.Now()})
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "id: 1") {
			return
		}
	}
	t.Fatalf("the announced event never arrived: %v", sc.Err())
}

// TestEventsBusyOtherTeam: events of another team wake a stream, but it
// reads the log at most once per eventsPoll however many are recorded.
func TestEventsBusyOtherTeam(t *testing.T) {
	l := &notifyingLog{changed: make(chan struct{})}
	other := &otherTeamLog{notifyingLog: l}
	a := New(Config{Events: other})
	srv := httptest.NewServer(http.HandlerFunc(a.events))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	began := time.Now()
	const events = 3000
	for i := 1; i <= events; i++ {
		l.record(store.Event{ID: int64(i), SandboxID: "a", Type: "created", Time: time.Now()})
		if i%10 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	time.Sleep(eventsPoll)
	took := time.Since(began)
	most := int64(took/eventsPoll) + 2 // the opening read, and one at each end
	if n := l.reads.Load(); n > most {
		t.Errorf("%d events of another team made %d reads in %s, want at most %d (one per %s)", events, n, took, most, eventsPoll)
	}
	if l.reads.Load() < 2 {
		t.Errorf("the stream was not woken by the events")
	}
}

// otherTeamLog is a log whose events all belong to another team: a read
// returns none of them.
type otherTeamLog struct{ *notifyingLog }

func (l *otherTeamLog) EventsAfter(ctx context.Context, f store.EventFilter) ([]store.Event, error) {
	l.reads.Add(1)
	return nil, nil
}
