package soulbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

// The quick start: a client from the environment (SOULBOX_API_URL and
// SOULBOX_API_KEY, or E2B_API_URL and E2B_API_KEY), a sandbox, a command.
func Example() {
	ctx := context.Background()
	client, err := soulbox.New(soulbox.Options{})
	if err != nil {
		log.Fatal(err)
	}
	sb, err := client.Create(ctx, "base", soulbox.CreateOptions{Timeout: 5 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Kill(ctx)

	res, err := sb.Commands.Run(ctx, "echo hello from $(uname -s)", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(res.Stdout)
	// Output: hello from Linux
}

func ExampleClient_List() {
	ctx := context.Background()
	client, _ := soulbox.New(soulbox.Options{})
	for range 2 {
		sb, err := client.Create(ctx, "", soulbox.CreateOptions{Metadata: map[string]string{"example": "list"}})
		if err != nil {
			log.Fatal(err)
		}
		defer sb.Kill(ctx)
	}
	n := 0
	for info, err := range client.List(ctx, &soulbox.ListOptions{Metadata: map[string]string{"example": "list"}, PageSize: 1}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(info.State, info.Metadata["example"])
		n++
	}
	fmt.Println(n, "sandboxes")
	// Output:
	// running list
	// running list
	// 2 sandboxes
}

func ExampleSandbox_Pause() {
	ctx := context.Background()
	client, _ := soulbox.New(soulbox.Options{})
	sb, _ := client.Create(ctx, "", soulbox.CreateOptions{})
	defer sb.Kill(ctx)

	sb.Commands.Run(ctx, "echo kept > /tmp/state", nil)
	if err := sb.Pause(ctx); err != nil {
		log.Fatal(err)
	}
	info, _ := sb.GetInfo(ctx)
	fmt.Println(info.State)
	if err := sb.Resume(ctx, time.Minute); err != nil {
		log.Fatal(err)
	}
	res, _ := sb.Commands.Run(ctx, "cat /tmp/state", nil)
	fmt.Print(res.Stdout)
	// Output:
	// paused
	// kept
}

func ExampleSandbox_Metrics() {
	ctx := context.Background()
	client, _ := soulbox.New(soulbox.Options{})
	sb, _ := client.Create(ctx, "", soulbox.CreateOptions{})
	defer sb.Kill(ctx)
	if err := sb.SetTimeout(ctx, 10*time.Minute); err != nil {
		log.Fatal(err)
	}
	metrics, err := sb.Metrics(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range metrics {
		_ = m.CPUUsedPct // one sample per interval of the server
	}
	fmt.Println("ok")
	// Output: ok
}

// Output streams to writers (or callbacks) as it comes; a non-zero exit
// is an *ExitError holding the result.
func ExampleCommands_Run() {
	ctx := context.Background()
	client, _ := soulbox.New(soulbox.Options{})
	sb, _ := client.Create(ctx, "", soulbox.CreateOptions{})
	defer sb.Kill(ctx)

	_, err := sb.Commands.Run(ctx, "echo working; exit 2", &soulbox.RunOptions{Stdout: os.Stdout})
	var exit *soulbox.ExitError
	if errors.As(err, &exit) {
		fmt.Println("exit code", exit.ExitCode)
	}
	res, _ := sb.Commands.Run(ctx, "wc -c", &soulbox.RunOptions{Stdin: strings.NewReader("12345")})
	fmt.Print(res.Stdout)
	// Output:
	// working
	// exit code 2
	// 5
}

// A background command: write to its stdin, signal it, wait for it.
func ExampleCommands_Start() {
	ctx := context.Background()
	client, _ := soulbox.New(soulbox.Options{})
	sb, _ := client.Create(ctx, "", soulbox.CreateOptions{})
	defer sb.Kill(ctx)

	h, err := sb.Commands.Start(ctx, "while read l; do echo \"> $l\"; done", &soulbox.RunOptions{OpenStdin: true})
	if err != nil {
		log.Fatal(err)
	}
	h.SendStdin(ctx, []byte("one\ntwo\n"))
	h.CloseStdin(ctx)
	res, _ := h.Wait()
	fmt.Print(res.Stdout)

	sleeper, _ := sb.Commands.Start(ctx, "sleep 600", nil)
	sleeper.Kill(ctx)
	res, _ = sleeper.Wait()
	fmt.Println("killed:", res.ExitCode)
	// Output:
	// > one
	// > two
	// killed: -1
}

// Cancelling the context kills the command in the sandbox.
func ExampleCommands_Run_cancel() {
	ctx := context.Background()
	client, _ := soulbox.New(soulbox.Options{})
	sb, _ := client.Create(ctx, "", soulbox.CreateOptions{})
	defer sb.Kill(ctx)

	tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err := sb.Commands.Run(tctx, "sleep 600", nil)
	fmt.Println(errors.Is(err, soulbox.ErrTimeout))
	// Output: true
}

// A terminal is an io.ReadWriteCloser.
func ExamplePTY_Create() {
	ctx := context.Background()
	client, _ := soulbox.New(soulbox.Options{})
	sb, _ := client.Create(ctx, "", soulbox.CreateOptions{})
	defer sb.Kill(ctx)

	term, err := sb.PTY.Create(ctx, &soulbox.PTYOptions{Cols: 80, Rows: 24})
	if err != nil {
		log.Fatal(err)
	}
	defer term.Close()
	term.Resize(ctx, 132, 43)
	io.WriteString(term, "stty size; exit\n")
	out, _ := io.ReadAll(term) // until the shell ends
	fmt.Println(strings.Contains(string(out), "43 132"))
	// Output: true
}

func ExampleFiles() {
	ctx := context.Background()
	client, _ := soulbox.New(soulbox.Options{})
	sb, _ := client.Create(ctx, "", soulbox.CreateOptions{})
	defer sb.Kill(ctx)

	sb.Files.WriteFile(ctx, "notes/a.txt", []byte("alpha"), nil)
	sb.Files.WriteFiles(ctx, []soulbox.WriteEntry{
		{Path: "notes/b.txt", Data: strings.NewReader("beta")},
		{Path: "notes/c.txt", Data: strings.NewReader("gamma")},
	}, nil)
	sb.Files.Rename(ctx, "notes/c.txt", "notes/g.txt", nil)
	sb.Files.Remove(ctx, "notes/b.txt", nil)
	entries, _ := sb.Files.List(ctx, "notes", 1, nil)
	for _, e := range entries {
		fmt.Println(e.Path, e.Size)
	}
	b, _ := sb.Files.ReadFile(ctx, "/home/user/notes/g.txt", nil)
	fmt.Println(string(b))
	// Output:
	// /home/user/notes/a.txt 5
	// /home/user/notes/g.txt 5
	// gamma
}

// Watch delivers changes on a channel until the context ends.
func ExampleFiles_Watch() {
	ctx := context.Background()
	client, _ := soulbox.New(soulbox.Options{})
	sb, _ := client.Create(ctx, "", soulbox.CreateOptions{})
	defer sb.Kill(ctx)

	sb.Files.MakeDir(ctx, "/tmp/inbox", nil)
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	w, err := sb.Files.Watch(wctx, "/tmp/inbox", nil)
	if err != nil {
		log.Fatal(err)
	}
	sb.Commands.Run(ctx, "touch /tmp/inbox/job1", nil)
	ev := <-w.Events
	fmt.Println(ev.Type, ev.Name)
	// Output: create job1
}

// Signed URLs let a browser or another service move a file without the
// API key.
func ExampleFiles_DownloadURL() {
	ctx := context.Background()
	client, _ := soulbox.New(soulbox.Options{})
	sb, _ := client.Create(ctx, "", soulbox.CreateOptions{})
	defer sb.Kill(ctx)

	sb.Files.WriteFile(ctx, "/tmp/report.csv", []byte("a,b\n1,2\n"), nil)
	u, err := sb.Files.DownloadURL("/tmp/report.csv", &soulbox.SignedURLOptions{Expires: 10 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.Contains(u, "signature=v1_"), strings.Contains(u, "signature_expiration="))
	// Output: true true
}

// Code runs in stateful interpreters; a matplotlib figure comes back as a
// PNG with its chart data.
func ExampleSandbox_RunCode() {
	ctx := context.Background()
	client, _ := soulbox.New(soulbox.Options{})
	sb, _ := client.Create(ctx, "", soulbox.CreateOptions{})
	defer sb.Kill(ctx)

	sb.RunCode(ctx, "import matplotlib.pyplot as plt\ndata = [3, 1, 2]", nil)
	ex, err := sb.RunCode(ctx, "plt.bar(['a', 'b', 'c'], data); plt.title('data'); plt.show()", nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range ex.Results {
		png, _ := r.PNG()
		fmt.Println(r.Formats(), len(png) > 0, r.Chart.Type, r.Chart.Title)
	}
	ex, _ = sb.RunCode(ctx, "undefined_name", nil)
	fmt.Println(ex.Error.Name)
	// Output:
	// [text png chart] true bar data
	// NameError
}

func ExampleSandbox_CreateCodeContext() {
	ctx := context.Background()
	client, _ := soulbox.New(soulbox.Options{})
	sb, _ := client.Create(ctx, "", soulbox.CreateOptions{})
	defer sb.Kill(ctx)

	js, err := sb.CreateCodeContext(ctx, &soulbox.CodeContextOptions{Language: "javascript"})
	if err != nil {
		log.Fatal(err)
	}
	sb.RunCode(ctx, "const xs = [1, 2, 3]", &soulbox.RunCodeOptions{Context: js})
	ex, _ := sb.RunCode(ctx, "xs.map(x => x * 2).join(',')", &soulbox.RunCodeOptions{Context: js})
	fmt.Println(ex.Text())
	// Output: '2,4,6'
}

// Errors have categories for errors.Is and details for errors.As.
func ExampleError() {
	ctx := context.Background()
	client, _ := soulbox.New(soulbox.Options{})
	_, err := client.GetInfo(ctx, "no-such-sandbox")
	var se *soulbox.Error
	if errors.Is(err, soulbox.ErrNotFound) && errors.As(err, &se) {
		fmt.Println("not found, HTTP", se.Status)
	}
	// Output: not found, HTTP 404
}

// Another program (or a later run) reaches a sandbox by its ID; Connect
// resumes it if it was paused.
func ExampleClient_Connect() {
	ctx := context.Background()
	client, _ := soulbox.New(soulbox.Options{})
	first, _ := client.Create(ctx, "", soulbox.CreateOptions{})
	defer first.Kill(ctx)
	first.Files.WriteFile(ctx, "/tmp/shared", []byte("left by the first handle"), nil)
	first.Pause(ctx)

	sb, err := client.Connect(ctx, first.ID, 5*time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	b, _ := sb.Files.ReadFile(ctx, "/tmp/shared", nil)
	fmt.Println(string(b))
	// Output: left by the first handle
}

// A background command keeps running when its handle disconnects;
// Commands.Connect follows it again by PID.
func ExampleCommands_Connect() {
	ctx := context.Background()
	client, _ := soulbox.New(soulbox.Options{})
	sb, _ := client.Create(ctx, "", soulbox.CreateOptions{})
	defer sb.Kill(ctx)

	h, _ := sb.Commands.Start(ctx, "sleep 0.5; echo finished", nil)
	h.Disconnect()
	again, err := sb.Commands.Connect(ctx, h.PID, &soulbox.RunOptions{Stdout: os.Stdout})
	if err != nil {
		log.Fatal(err)
	}
	again.Wait()
	// Output: finished
}
