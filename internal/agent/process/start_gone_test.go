package process

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/agent/state"
	"github.com/soulbox/soulbox/internal/agent/users"
)

// A Start whose client hung up before the start event (its deadline
// passed while the request was on its way) kills the process it
// started: the client never learned its pid, so nothing else could.
func TestStartForAClientGoneKillsTheProcess(t *testing.T) {
	m := newManager(t)
	svc := NewService(m, state.New(map[string]string{"PATH": "/usr/bin:/bin"}, users.System), slog.New(slog.DiscardHandler))
	path, h := svc.Handler()

	msg := []byte(`{"process":{"cmd":"/bin/sleep","args":["6002"]},"stdin":false,"tag":"gone"}`)
	body := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(body[1:], uint32(len(msg)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, "POST", path+"Start", bytes.NewReader(append(body, msg...)))
	req.Header.Set("Content-Type", "application/connect+json")
	req.Header.Set("Connect-Protocol-Version", "1")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("root:")))
	h.ServeHTTP(httptest.NewRecorder(), req)

	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		p, err := m.Get(0, "gone")
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			_ = p.Signal(sigkill)
			t.Fatalf("process %d started for a client already gone still runs", p.Pid)
		}
	}
}
