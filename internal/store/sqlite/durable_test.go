package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/soulbox/soulbox/internal/store"
)

// killedWriterEnv names the database the child process of
// TestAcknowledgedWritesSurviveKill writes to.
const killedWriterEnv = "SOULBOX_TEST_KILLED_WRITER_DB"

// Every write acknowledged before the server is SIGKILLed, in the middle
// of a stream of concurrent writes committed in groups, is in the database
// when it is opened again.
func TestAcknowledgedWritesSurviveKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "soulbox.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWriterChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), killedWriterEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
			acked = append(acked, id)
			if len(acked) == 500 {
				_ = cmd.Process.Signal(syscall.SIGKILL)
			}
		}
	}
	err = cmd.Wait()
	if len(acked) < 500 {
		t.Fatalf("child acknowledged %d writes before ending (%v)", len(acked), err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed: %v", err)
	}

	s := openAt(t, path)
	defer s.Close()
	for _, id := range acked {
		if _, err := s.GetSandbox(context.Background(), id); err != nil {
			t.Errorf("acknowledged write of %s lost: %v", id, err)
		}
	}
	if !t.Failed() {
		t.Logf("%d acknowledged writes, all present after SIGKILL", len(acked))
	}
}

// TestKilledWriterChild is the process TestAcknowledgedWritesSurviveKill
// kills: it writes from 16 goroutines until it is killed and prints each
// write once acknowledged.
func TestKilledWriterChild(t *testing.T) {
	path := os.Getenv(killedWriterEnv)
	if path == "" {
		t.Skip("run by TestAcknowledgedWritesSurviveKill")
	}
	s := openAt(t, path)
	var (
		seq atomic.Int64
		mu  sync.Mutex
		wg  sync.WaitGroup
	)
	for range 16 {
		wg.Go(func() {
			for {
				id := fmt.Sprintf("sb%06d", seq.Add(1))
				if err := s.CreateSandbox(context.Background(), store.Sandbox{
					ID: id, TemplateID: "base", State: store.StateRunning, Metadata: map[string]string{"k": "v"},
				}); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Printf("acked %s\n", id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
