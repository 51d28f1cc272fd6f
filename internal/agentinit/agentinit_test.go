package agentinit

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// agentAfter is an agent that takes connections only from its refused+1th
// dial on, answering /init with status.
type agentAfter struct {
	refused int32
	dials   atomic.Int32
	inits   atomic.Int32
	addr    string
}

func (a *agentAfter) DialContext(ctx context.Context, _ string, _ int) (net.Conn, error) {
	if a.dials.Add(1) <= a.refused {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", a.addr)
}

func newAgent(t *testing.T, refused int32, status int) *agentAfter {
	a := &agentAfter{refused: refused}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/init" && r.Method == http.MethodPost {
			a.inits.Add(1)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	a.addr = srv.Listener.Addr().String()
	return a
}

// Init asks again while the agent takes no connections, and stops at its
// first answer: success, or a refusal, which is not asked again.
func TestInitWaitsForTheAgent(t *testing.T) {
	a := newAgent(t, 5, http.StatusNoContent)
	if err := Init(t.Context(), a, "sb", []byte(`{}`), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if d, i := a.dials.Load(), a.inits.Load(); d != 6 || i != 1 {
		t.Errorf("%d dials, %d inits; want 6 and 1", d, i)
	}

	bad := newAgent(t, 2, http.StatusBadRequest)
	err := Init(t.Context(), bad, "sb", []byte(`{}`), 5*time.Second)
	var answered *answerError
	if !errors.As(err, &answered) || bad.inits.Load() != 1 {
		t.Errorf("refused init: %v after %d inits; want the agent's answer after one", err, bad.inits.Load())
	}

	never := newAgent(t, 1<<30, http.StatusNoContent)
	start := time.Now()
	if err := Init(t.Context(), never, "sb", []byte(`{}`), 50*time.Millisecond); err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("agent never up: %v, want the dial's refusal", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("gave up after %v", took)
	}
}
