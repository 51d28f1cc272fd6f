package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	pb "github.com/soulbox/soulbox/api/envd/process"
)

// result is what a command produced, as the SDK's commands.run collects it.
type result struct {
	pid            uint32
	stdout, stderr string
	pty            string
	exitCode       int32
	exited         bool
	status         string
	events         []string
}

// run starts a command as the SDK does and collects its events.
func (s *sandbox) run(ctx context.Context, t *testing.T, user string, req *pb.StartRequest) (result, error) {
	t.Helper()
	stream, err := s.process().Start(ctx, withHeader(req, s.header(user)))
	if err != nil {
		return result{}, err
	}
	defer stream.Close()
	var r result
	for stream.Receive() {
		ev := stream.Msg().GetEvent()
		switch e := ev.GetEvent().(type) {
		case *pb.ProcessEvent_Start:
			r.pid = e.Start.GetPid()
			r.events = append(r.events, "start")
		case *pb.ProcessEvent_Data:
			r.events = append(r.events, "data")
			r.stdout += string(e.Data.GetStdout())
			r.stderr += string(e.Data.GetStderr())
			r.pty += string(e.Data.GetPty())
		case *pb.ProcessEvent_End:
			r.events = append(r.events, "end")
			r.exitCode, r.exited, r.status = e.End.GetExitCode(), e.End.GetExited(), e.End.GetStatus()
		case *pb.ProcessEvent_Keepalive:
			r.events = append(r.events, "keepalive")
		}
	}
	return r, stream.Err()
}

// bash is the StartRequest of the SDK's commands.run(cmd).
func bash(cmd string) *pb.StartRequest {
	stdin := false
	return &pb.StartRequest{Process: &pb.ProcessConfig{Cmd: "/bin/bash", Args: []string{"-l", "-c", cmd}}, Stdin: &stdin}
}

func TestProcess(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()

	t.Run("RunAsDefaultUser", func(t *testing.T) {
		r, err := s.run(ctx, t, "", bash(`echo "$(id -un) $PWD"; echo oops >&2; exit 5`))
		if err != nil {
			t.Fatal(err)
		}
		if r.stdout != "user /home/user\n" || r.stderr != "oops\n" || r.exitCode != 5 || !r.exited || r.status != "exit status 5" {
			t.Errorf("%+v", r)
		}
		if r.events[0] != "start" || r.events[len(r.events)-1] != "end" || r.pid == 0 {
			t.Errorf("events %v pid %d: want start first, end last", r.events, r.pid)
		}
	})
	t.Run("RootEnvsCwd", func(t *testing.T) {
		req := bash(`echo "$(id -u) $PWD $GREETING"`)
		cwd := "/tmp"
		req.Process.Cwd = &cwd
		req.Process.Envs = map[string]string{"GREETING": "hello"}
		r, err := s.run(ctx, t, "root", req)
		if err != nil || r.stdout != "0 /tmp hello\n" {
			t.Errorf("%+v %v", r, err)
		}
	})
	t.Run("UnknownUser", func(t *testing.T) {
		_, err := s.run(ctx, t, "nobody-such", bash("true"))
		if connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("unknown user: %v", err)
		}
	})
	t.Run("BadCwd", func(t *testing.T) {
		req := bash("true")
		cwd := "/no/such/dir"
		req.Process.Cwd = &cwd
		if _, err := s.run(ctx, t, "", req); connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("bad cwd: %v", err)
		}
	})
	t.Run("TimeoutKillsAndKeepsPartialOutput", func(t *testing.T) {
		// Long enough for a loaded host to start bash and pass on "first".
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		r, err := s.run(tctx, t, "", bash(`echo first; sleep 60; echo never`))
		if connect.CodeOf(err) != connect.CodeDeadlineExceeded {
			t.Fatalf("err = %v, want deadline_exceeded", err)
		}
		if r.stdout != "first\n" {
			t.Errorf("partial output %q", r.stdout)
		}
		// The command was killed at the deadline; the kill may take a
		// moment to land on a loaded host.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			out, err := s.run(ctx, t, "root", bash("pgrep -x sleep || true"))
			if err == nil && strings.TrimSpace(out.stdout) == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("timed-out command still runs: %q %v", out.stdout, err)
				break
			}
		}
	})
	t.Run("DisconnectKeepsProcessThenKill", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		req := bash("sleep 600")
		tag := "bg-sleeper"
		req.Tag = &tag
		stream, err := s.process().Start(cctx, withHeader(req, s.header("")))
		if err != nil {
			t.Fatal(err)
		}
		if !stream.Receive() {
			t.Fatal(stream.Err())
		}
		pid := stream.Msg().GetEvent().GetStart().GetPid()
		cancel()
		stream.Close()
		time.Sleep(200 * time.Millisecond)
		list, err := s.process().List(ctx, withHeader(&pb.ListRequest{}, s.header("")))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, p := range list.Msg.GetProcesses() {
			if p.GetPid() == pid && p.GetTag() == tag && p.GetConfig().GetCmd() == "/bin/bash" {
				found = true
			}
		}
		if !found {
			t.Fatalf("process %d not listed after the client left: %v", pid, list.Msg.GetProcesses())
		}
		// Connect by tag, then kill it: the connected stream sees the end.
		conn, err := s.process().Connect(ctx, withHeader(&pb.ConnectRequest{Process: &pb.ProcessSelector{Selector: &pb.ProcessSelector_Tag{Tag: tag}}}, s.header("")))
		if err != nil {
			t.Fatal(err)
		}
		if !conn.Receive() || conn.Msg().GetEvent().GetStart().GetPid() != pid {
			t.Fatalf("connect did not start with the pid: %v", conn.Err())
		}
		_, err = s.process().SendSignal(ctx, withHeader(&pb.SendSignalRequest{
			Process: &pb.ProcessSelector{Selector: &pb.ProcessSelector_Pid{Pid: pid}}, Signal: pb.Signal_SIGNAL_SIGKILL}, s.header("")))
		if err != nil {
			t.Fatal(err)
		}
		var end *pb.ProcessEvent_EndEvent
		for conn.Receive() {
			if e := conn.Msg().GetEvent().GetEnd(); e != nil {
				end = e
			}
		}
		if end == nil || end.GetExited() || end.GetStatus() != "signal: SIGKILL" {
			t.Errorf("end after kill: %+v (%v)", end, conn.Err())
		}
	})
	t.Run("StdinSendAndClose", func(t *testing.T) {
		open := true
		req := &pb.StartRequest{Process: &pb.ProcessConfig{Cmd: "cat"}, Stdin: &open}
		stream, err := s.process().Start(ctx, withHeader(req, s.header("")))
		if err != nil {
			t.Fatal(err)
		}
		defer stream.Close()
		stream.Receive()
		sel := &pb.ProcessSelector{Selector: &pb.ProcessSelector_Pid{Pid: stream.Msg().GetEvent().GetStart().GetPid()}}
		if _, err := s.process().SendInput(ctx, withHeader(&pb.SendInputRequest{Process: sel, Input: &pb.ProcessInput{Input: &pb.ProcessInput_Stdin{Stdin: []byte("piped\n")}}}, s.header(""))); err != nil {
			t.Fatal(err)
		}
		if _, err := s.process().CloseStdin(ctx, withHeader(&pb.CloseStdinRequest{Process: sel}, s.header(""))); err != nil {
			t.Fatal(err)
		}
		var out string
		for stream.Receive() {
			out += string(stream.Msg().GetEvent().GetData().GetStdout())
		}
		if out != "piped\n" {
			t.Errorf("cat echoed %q", out)
		}
	})
	t.Run("PTY", func(t *testing.T) {
		req := &pb.StartRequest{
			Process: &pb.ProcessConfig{Cmd: "/bin/bash", Args: []string{"-i", "-l"}, Envs: map[string]string{"TERM": "xterm-256color"}},
			Pty:     &pb.PTY{Size: &pb.PTY_Size{Cols: 90, Rows: 20}},
		}
		stream, err := s.process().Start(ctx, withHeader(req, s.header("")))
		if err != nil {
			t.Fatal(err)
		}
		defer stream.Close()
		stream.Receive()
		sel := &pb.ProcessSelector{Selector: &pb.ProcessSelector_Pid{Pid: stream.Msg().GetEvent().GetStart().GetPid()}}
		if _, err := s.process().Update(ctx, withHeader(&pb.UpdateRequest{Process: sel, Pty: &pb.PTY{Size: &pb.PTY_Size{Cols: 120, Rows: 40}}}, s.header(""))); err != nil {
			t.Fatal(err)
		}
		send := func(in string) {
			if _, err := s.process().SendInput(ctx, withHeader(&pb.SendInputRequest{Process: sel, Input: &pb.ProcessInput{Input: &pb.ProcessInput_Pty{Pty: []byte(in)}}}, s.header(""))); err != nil {
				t.Fatal(err)
			}
		}
		send("stty size; echo marker-$((6*7))\n")
		send("exit\n")
		var out string
		for stream.Receive() {
			out += string(stream.Msg().GetEvent().GetData().GetPty())
		}
		if !strings.Contains(out, "40 120") || !strings.Contains(out, "marker-42") {
			t.Errorf("pty output %q", out)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		sel := &pb.ProcessSelector{Selector: &pb.ProcessSelector_Pid{Pid: 999999}}
		_, err := s.process().SendSignal(ctx, withHeader(&pb.SendSignalRequest{Process: sel, Signal: pb.Signal_SIGNAL_SIGTERM}, s.header("")))
		if connect.CodeOf(err) != connect.CodeNotFound {
			t.Errorf("signal unknown pid: %v", err)
		}
		conn, err := s.process().Connect(ctx, withHeader(&pb.ConnectRequest{Process: &pb.ProcessSelector{Selector: &pb.ProcessSelector_Tag{Tag: "nope"}}}, s.header("")))
		if err == nil {
			for conn.Receive() {
			}
			err = conn.Err()
		}
		if connect.CodeOf(err) != connect.CodeNotFound {
			t.Errorf("connect unknown tag: %v", err)
		}
	})
	t.Run("AccessToken", func(t *testing.T) {
		if resp := s.init(t, map[string]any{"accessToken": "tok-123", "envVars": map[string]string{"FROM_INIT": "1"}}); resp.StatusCode != 204 {
			t.Fatalf("/init: %d", resp.StatusCode)
		}
		_, err := s.run(ctx, t, "", bash("true"))
		var cerr *connect.Error
		if !errors.As(err, &cerr) || cerr.Code() != connect.CodeUnauthenticated {
			t.Errorf("without token: %v", err)
		}
		s.token = "tok-123"
		r, err := s.run(ctx, t, "", bash("echo $FROM_INIT"))
		if err != nil || r.stdout != "1\n" {
			t.Errorf("with token: %+v %v", r, err)
		}
		if resp, err := s.http.Get(agentURL + "/health"); err != nil || resp.StatusCode != 204 {
			t.Errorf("health must stay open: %v", err)
		}
	})
}
