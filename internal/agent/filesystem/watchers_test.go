package filesystem

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/filesystem"
	"github.com/soulbox/soulbox/internal/errdefs"
)

func TestWatchers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	base := inotifyFDs(t)

	create := func(req *pb.CreateWatcherRequest) string {
		t.Helper()
		res, err := f.client.CreateWatcher(ctx, connect.NewRequest(req))
		if err != nil {
			t.Fatalf("create watcher: %v", err)
		}
		return res.Msg.GetWatcherId()
	}
	events := func(id string) ([]*pb.FilesystemEvent, error) {
		res, err := f.client.GetWatcherEvents(ctx, connect.NewRequest(&pb.GetWatcherEventsRequest{WatcherId: id}))
		if err != nil {
			return nil, err
		}
		return res.Msg.GetEvents(), nil
	}

	id := create(&pb.CreateWatcherRequest{Path: "~", Recursive: true, IncludeEntry: true})
	other := create(&pb.CreateWatcherRequest{Path: f.home})
	if id == other || len(id) < 32 {
		t.Errorf("watcher ids %q and %q: want distinct and unguessable", id, other)
	}
	if evs, err := events(id); err != nil || len(evs) != 0 {
		t.Errorf("events before any change: %v, %v", evs, err)
	}

	mkdir(t, filepath.Join(f.home, "sub"))
	write(t, filepath.Join(f.home, "sub/f.txt"), "x")
	var got []*pb.FilesystemEvent
	eventually(t, "events of the new file", func() bool {
		evs, err := events(id)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, evs...)
		for _, e := range got {
			// Written maybe before sub was watched: then only its
			// (made-up) CREATE is seen.
			if e.GetName() == "sub/f.txt" && e.GetType() == pb.EventType_EVENT_TYPE_CREATE {
				return true
			}
		}
		return false
	})
	if got[0].GetName() != "sub" || got[0].GetType() != pb.EventType_EVENT_TYPE_CREATE || got[0].GetEntry().GetType() != pb.FileType_FILE_TYPE_DIRECTORY {
		t.Errorf("first event %v, want CREATE sub with its entry; all: %s", got[0], names(got))
	}
	// Taken events are not returned again (a late WRITE of the file may).
	evs, err := events(id)
	for _, e := range evs {
		if e.GetType() == pb.EventType_EVENT_TYPE_CREATE {
			t.Errorf("events after taking them: %s", names(evs))
		}
	}
	if err != nil {
		t.Error(err)
	}
	// The other watcher is not recursive and kept its own events.
	evs, err = events(other)
	if err != nil || len(evs) == 0 || evs[0].GetName() != "sub" || evs[0].Entry != nil {
		t.Errorf("other watcher: %s, %v", names(evs), err)
	}

	for _, w := range []string{id, other} {
		if _, err := f.client.RemoveWatcher(ctx, connect.NewRequest(&pb.RemoveWatcherRequest{WatcherId: w})); err != nil {
			t.Fatal(err)
		}
	}
	if n := inotifyFDs(t); n != base {
		t.Errorf("%d inotify descriptors after removing the watchers, want %d", n, base)
	}
	_, err = events(id)
	wantCode(t, "events of a removed watcher", err, connect.CodeNotFound)
	_, err = f.client.RemoveWatcher(ctx, connect.NewRequest(&pb.RemoveWatcherRequest{WatcherId: id}))
	wantCode(t, "remove a removed watcher", err, connect.CodeNotFound)
	_, err = events("w-made-up")
	wantCode(t, "events of an unknown watcher", err, connect.CodeNotFound)

	write(t, filepath.Join(f.home, "file"), "x")
	for _, tc := range []struct {
		path string
		want connect.Code
	}{
		{"missing", connect.CodeNotFound},
		{"file", connect.CodeInvalidArgument},
	} {
		_, err := f.client.CreateWatcher(ctx, connect.NewRequest(&pb.CreateWatcherRequest{Path: tc.path}))
		wantCode(t, "create a watcher on "+tc.path, err, tc.want)
	}

	// Closing the service stops the watchers left.
	create(&pb.CreateWatcherRequest{Path: f.home, Recursive: true})
	if err := f.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if n := inotifyFDs(t); n != base {
		t.Errorf("%d inotify descriptors after Close, want %d", n, base)
	}
	_, err = f.client.CreateWatcher(ctx, connect.NewRequest(&pb.CreateWatcherRequest{Path: f.home}))
	wantCode(t, "create a watcher after Close", err, connect.CodeUnavailable)
}

func TestWatcherBuffer(t *testing.T) {
	p := &pollWatcher{}
	const n = 3*maxBuffered + 7
	for i := range n {
		p.push(&pb.FilesystemEvent{Name: strconv.Itoa(i)})
	}
	if len(p.events) > 2*maxBuffered {
		t.Errorf("%d events held, want at most %d", len(p.events), 2*maxBuffered)
	}
	evs, dropped, err := p.take()
	if err != nil || len(evs) != maxBuffered || dropped != n-maxBuffered {
		t.Fatalf("took %d events, %d dropped, %v", len(evs), dropped, err)
	}
	// The newest are kept, in order.
	if evs[0].GetName() != strconv.Itoa(n-maxBuffered) || evs[len(evs)-1].GetName() != strconv.Itoa(n-1) {
		t.Errorf("kept %s .. %s", evs[0].GetName(), evs[len(evs)-1].GetName())
	}

	// After a failure, the events buffered before it come first.
	p.push(&pb.FilesystemEvent{Name: "last"})
	p.err = watchError(errors.New("boom"))
	if evs, _, err := p.take(); err != nil || len(evs) != 1 {
		t.Errorf("before the error: %v, %v", evs, err)
	}
	for range 2 {
		if _, _, err := p.take(); err == nil || errdefs.IsNotFound(err) {
			t.Errorf("after the failure: %v", err)
		}
	}
}
