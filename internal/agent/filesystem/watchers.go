package filesystem

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/filesystem"
	"github.com/soulbox/soulbox/internal/errdefs"
)

// maxBuffered bounds the events a watcher keeps between two
// GetWatcherEvents calls. Beyond it the oldest are dropped: a client that
// stopped polling must not grow the agent without end, and the newest
// events best describe the directory as it is now.
const maxBuffered = 10000

// CreateWatcher starts watching a directory, as WatchDir does, for a
// client that polls rather than streams; it checks the request as
// WatchDir does. The watcher lives until RemoveWatcher.
func (s *Service) CreateWatcher(_ context.Context, req *connect.Request[pb.CreateWatcherRequest]) (*connect.Response[pb.CreateWatcherResponse], error) {
	m := req.Msg
	w, err := s.openWatch(req.Header(), m.GetPath(), m.GetRecursive(), m.GetIncludeEntry(), m.GetAllowNetworkMounts())
	if err != nil {
		return nil, err
	}
	id, err := newWatcherID()
	if err != nil {
		w.close()
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	pw := &pollWatcher{w: w, done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		w.close()
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("the agent is shutting down"))
	}
	s.watchers[id] = pw
	s.mu.Unlock()
	go pw.run()
	return connect.NewResponse(&pb.CreateWatcherResponse{WatcherId: id}), nil
}

// GetWatcherEvents returns the events since the last call and forgets
// them. Once the watch has failed, the events buffered before the failure
// are returned first, then the error on every later call.
func (s *Service) GetWatcherEvents(_ context.Context, req *connect.Request[pb.GetWatcherEventsRequest]) (*connect.Response[pb.GetWatcherEventsResponse], error) {
	pw, err := s.watcher(req.Msg.GetWatcherId())
	if err != nil {
		return nil, err
	}
	events, dropped, err := pw.take()
	if dropped > 0 {
		s.log.Warn("watcher dropped its oldest events: the client polls too seldom", "watcher", req.Msg.GetWatcherId(), "dropped", dropped)
	}
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&pb.GetWatcherEventsResponse{Events: events}), nil
}

// RemoveWatcher stops a watcher and forgets it.
func (s *Service) RemoveWatcher(_ context.Context, req *connect.Request[pb.RemoveWatcherRequest]) (*connect.Response[pb.RemoveWatcherResponse], error) {
	id := req.Msg.GetWatcherId()
	s.mu.Lock()
	pw, ok := s.watchers[id]
	delete(s.watchers, id)
	s.mu.Unlock()
	if !ok {
		return nil, connectError(unknownWatcher(id))
	}
	pw.close()
	return connect.NewResponse(&pb.RemoveWatcherResponse{}), nil
}

func (s *Service) watcher(id string) (*pollWatcher, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pw, ok := s.watchers[id]
	if !ok {
		return nil, connectError(unknownWatcher(id))
	}
	return pw, nil
}

func unknownWatcher(id string) error {
	return fmt.Errorf("watcher %q does not exist (never created, or removed): %w", validUTF8(id), errdefs.ErrNotFound)
}

// newWatcherID returns 128 random bits: knowing an id is what lets a
// client read or stop a watcher.
func newWatcherID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("watcher id: %w", err)
	}
	return "w" + hex.EncodeToString(b[:]), nil
}

// pollWatcher buffers a watch's events for GetWatcherEvents.
type pollWatcher struct {
	w    *watch
	done chan struct{} // closed when run returns

	mu      sync.Mutex
	events  []*pb.FilesystemEvent
	dropped int   // events dropped since the last take
	err     error // why the watch failed
}

// run reads the watch until it is closed or fails.
func (p *pollWatcher) run() {
	defer close(p.done)
	for {
		select {
		case ev, ok := <-p.w.fw.Events:
			if !ok {
				return
			}
			p.push(p.w.translate(ev)...)
		case err, ok := <-p.w.fw.Errors:
			if !ok {
				return
			}
			p.mu.Lock()
			p.err = watchError(err)
			p.mu.Unlock()
			return
		}
	}
}

// push buffers events. Beyond maxBuffered the oldest are dropped: in
// batches, when twice as many are held, so that a flood of events costs
// no copy per event; take drops the rest.
func (p *pollWatcher) push(events ...*pb.FilesystemEvent) {
	if len(events) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, events...)
	if len(p.events) > 2*maxBuffered {
		p.trim()
	}
}

// trim drops the oldest events beyond maxBuffered.
func (p *pollWatcher) trim() {
	if over := len(p.events) - maxBuffered; over > 0 {
		p.dropped += over
		p.events = append(p.events[:0:0], p.events[over:]...)
	}
}

// take returns and forgets the buffered events, or the watch's error when
// none are left.
func (p *pollWatcher) take() (events []*pb.FilesystemEvent, dropped int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.trim()
	events, dropped = p.events, p.dropped
	p.events, p.dropped = nil, 0
	if len(events) == 0 && p.err != nil {
		return nil, dropped, p.err
	}
	if events == nil {
		events = []*pb.FilesystemEvent{}
	}
	return events, dropped, nil
}

// close stops the watch and waits for run to return.
func (p *pollWatcher) close() {
	p.w.close()
	<-p.done
}
