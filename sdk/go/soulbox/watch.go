package soulbox

import (
	"context"
	"sync"

	"connectrpc.com/connect"

	fspb "github.com/soulbox/soulbox/api/envd/filesystem"
)

// EventType is what happened to a watched entry.
type EventType string

// Event types.
const (
	EventCreate EventType = "create"
	EventWrite  EventType = "write"
	EventRemove EventType = "remove"
	EventRename EventType = "rename"
	EventChmod  EventType = "chmod"
)

// FilesystemEvent is a change in a watched directory.
type FilesystemEvent struct {
	// Name is the entry's path relative to the watched directory.
	Name string    `json:"name"`
	Type EventType `json:"type"`
}

// WatchOptions say what to watch.
type WatchOptions struct {
	// Recursive watches subdirectories too.
	Recursive bool
	User      string
}

// Watcher delivers the changes of a watched directory on Events until its
// context ends, Close is called, or the stream fails (then Err says why).
type Watcher struct {
	// Events receives each change; it is closed when watching stops.
	Events <-chan FilesystemEvent

	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	err    error
}

// Watch starts watching the directory at path; it returns once the
// sandbox watches, so later changes are all reported.
func (f *Files) Watch(ctx context.Context, path string, o *WatchOptions) (*Watcher, error) {
	if o == nil {
		o = &WatchOptions{}
	}
	wctx, cancel := context.WithCancel(ctx)
	stream, err := f.sb.filesystem(o.User).WatchDir(wctx, connect.NewRequest(&fspb.WatchDirRequest{Path: path, Recursive: o.Recursive}))
	if err != nil {
		cancel()
		return nil, wrap(ctx, err)
	}
	// The first message is the start event: the watch is in place.
	if !stream.Receive() {
		cancel()
		stream.Close()
		return nil, wrap(ctx, streamErr(stream.Err()))
	}
	events := make(chan FilesystemEvent, 64)
	w := &Watcher{Events: events, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer close(events)
		defer stream.Close()
		for stream.Receive() {
			fe := stream.Msg().GetFilesystem()
			if fe == nil {
				continue // keepalive
			}
			select {
			case events <- FilesystemEvent{Name: fe.GetName(), Type: eventType(fe.GetType())}:
			case <-wctx.Done():
				return
			}
		}
		if err := stream.Err(); err != nil && wctx.Err() == nil {
			w.mu.Lock()
			w.err = wrap(wctx, err)
			w.mu.Unlock()
		}
	}()
	return w, nil
}

func eventType(t fspb.EventType) EventType {
	switch t {
	case fspb.EventType_EVENT_TYPE_CREATE:
		return EventCreate
	case fspb.EventType_EVENT_TYPE_WRITE:
		return EventWrite
	case fspb.EventType_EVENT_TYPE_REMOVE:
		return EventRemove
	case fspb.EventType_EVENT_TYPE_RENAME:
		return EventRename
	case fspb.EventType_EVENT_TYPE_CHMOD:
		return EventChmod
	}
	return ""
}

// Close stops watching; Events is closed.
func (w *Watcher) Close() error {
	w.cancel()
	<-w.done
	return nil
}

// Err is why watching stopped on its own, once Events is closed; nil
// when it was closed or its context ended.
func (w *Watcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
