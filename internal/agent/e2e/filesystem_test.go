package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	fspb "github.com/soulbox/soulbox/api/envd/filesystem"
	"github.com/soulbox/soulbox/api/envd/filesystem/filesystemconnect"
	pb "github.com/soulbox/soulbox/api/envd/process"
)

func (s *sandbox) fs() filesystemconnect.FilesystemClient {
	// The SDKs speak Connect's JSON codec; so does this client.
	return filesystemconnect.NewFilesystemClient(s.http, agentURL, connect.WithProtoJSON())
}

func TestFilesystemInSandbox(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	h := s.header("")

	mk, err := s.fs().MakeDir(ctx, withHeader(&fspb.MakeDirRequest{Path: "proj/src"}, h))
	if err != nil {
		t.Fatal(err)
	}
	if e := mk.Msg.GetEntry(); e.GetPath() != "/home/user/proj/src" || e.GetType() != fspb.FileType_FILE_TYPE_DIRECTORY || e.GetOwner() != "user" {
		t.Errorf("made %+v", e)
	}
	if _, err := s.fs().MakeDir(ctx, withHeader(&fspb.MakeDirRequest{Path: "proj/src"}, h)); connect.CodeOf(err) != connect.CodeAlreadyExists {
		t.Errorf("second mkdir: %v", err)
	}
	s.sh(t, "printf abc > /home/user/proj/src/main.py; printf 'x' > $'/home/user/proj/bad\\xffname'; ln -s /home/user/proj/src /home/user/proj/link")

	st, err := s.fs().Stat(ctx, withHeader(&fspb.StatRequest{Path: "/home/user/proj/src/main.py"}, h))
	if err != nil || st.Msg.GetEntry().GetSize() != 3 || st.Msg.GetEntry().GetPermissions() != "-rw-r--r--" {
		t.Errorf("stat: %+v %v", st, err)
	}
	if _, err := s.fs().Stat(ctx, withHeader(&fspb.StatRequest{Path: "/home/user/none"}, h)); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("stat missing: %v", err)
	}
	ls, err := s.fs().ListDir(ctx, withHeader(&fspb.ListDirRequest{Path: "/home/user/proj", Depth: 3}, h))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ls.Msg.GetEntries() {
		names = append(names, strings.TrimPrefix(e.GetPath(), "/home/user/proj/"))
	}
	got := strings.Join(names, ",")
	if !strings.Contains(got, "src/main.py") || !strings.Contains(got, "bad\uFFFDname") || strings.Contains(got, "link/main.py") {
		t.Errorf("listing %q: want src/main.py, the non-UTF-8 name shown with U+FFFD, and no descent into the link", got)
	}
	mv, err := s.fs().Move(ctx, withHeader(&fspb.MoveRequest{Source: "/home/user/proj/src/main.py", Destination: "/home/user/proj/out/app.py"}, h))
	if err != nil || mv.Msg.GetEntry().GetPath() != "/home/user/proj/out/app.py" {
		t.Errorf("move: %+v %v", mv, err)
	}
	if _, err := s.fs().Move(ctx, withHeader(&fspb.MoveRequest{Source: "/home/user/none", Destination: "/tmp/x"}, h)); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("move missing: %v", err)
	}

	// The polling watcher trio.
	w, err := s.fs().CreateWatcher(ctx, withHeader(&fspb.CreateWatcherRequest{Path: "/home/user/proj", Recursive: true}, h))
	if err != nil {
		t.Fatal(err)
	}
	s.sh(t, "echo hi > /home/user/proj/out/new.txt")
	var evs []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !strings.Contains(strings.Join(evs, ","), "out/new.txt"); {
		time.Sleep(20 * time.Millisecond)
		res, err := s.fs().GetWatcherEvents(ctx, withHeader(&fspb.GetWatcherEventsRequest{WatcherId: w.Msg.GetWatcherId()}, h))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.Msg.GetEvents() {
			evs = append(evs, e.GetType().String()+":"+e.GetName())
		}
	}
	if !strings.Contains(strings.Join(evs, ","), "EVENT_TYPE_CREATE:out/new.txt") {
		t.Errorf("watcher events %v", evs)
	}
	if _, err := s.fs().RemoveWatcher(ctx, withHeader(&fspb.RemoveWatcherRequest{WatcherId: w.Msg.GetWatcherId()}, h)); err != nil {
		t.Error(err)
	}
	if _, err := s.fs().GetWatcherEvents(ctx, withHeader(&fspb.GetWatcherEventsRequest{WatcherId: w.Msg.GetWatcherId()}, h)); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("removed watcher: %v", err)
	}

	if _, err := s.fs().Remove(ctx, withHeader(&fspb.RemoveRequest{Path: "/home/user/proj"}, h)); err != nil {
		t.Fatal(err)
	}
	if out := s.sh(t, "test -e /home/user/proj && echo still-there; true"); out != "" {
		t.Errorf("remove left %q", out)
	}
}

func TestStreamInputInSandbox(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	open := true
	start, err := s.process().Start(ctx, withHeader(&pb.StartRequest{Process: &pb.ProcessConfig{Cmd: "cat"}, Stdin: &open}, s.header("")))
	if err != nil {
		t.Fatal(err)
	}
	defer start.Close()
	start.Receive()
	pid := start.Msg().GetEvent().GetStart().GetPid()
	sel := &pb.ProcessSelector{Selector: &pb.ProcessSelector_Pid{Pid: pid}}

	// Over HTTP/1.1 a client stream goes as one request body, which is
	// how the SDKs send it too.
	in := s.process().StreamInput(ctx)
	for k, v := range s.header("") {
		in.RequestHeader()[k] = v
	}
	msgs := []*pb.StreamInputRequest{
		{Event: &pb.StreamInputRequest_Start{Start: &pb.StreamInputRequest_StartEvent{Process: sel}}},
		{Event: &pb.StreamInputRequest_Data{Data: &pb.StreamInputRequest_DataEvent{Input: &pb.ProcessInput{Input: &pb.ProcessInput_Stdin{Stdin: []byte("streamed ")}}}}},
		{Event: &pb.StreamInputRequest_Keepalive{Keepalive: &pb.StreamInputRequest_KeepAlive{}}},
		{Event: &pb.StreamInputRequest_Data{Data: &pb.StreamInputRequest_DataEvent{Input: &pb.ProcessInput{Input: &pb.ProcessInput_Stdin{Stdin: []byte("input\n")}}}}},
	}
	for _, m := range msgs {
		if err := in.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := in.CloseAndReceive(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.process().CloseStdin(ctx, withHeader(&pb.CloseStdinRequest{Process: sel}, s.header(""))); err != nil {
		t.Fatal(err)
	}
	var out string
	for start.Receive() {
		out += string(start.Msg().GetEvent().GetData().GetStdout())
	}
	if out != "streamed input\n" {
		t.Errorf("cat got %q", out)
	}
}
