package interpreter

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// interruptGrace is how long an interrupted cell has to stop before its
// driver is killed and replaced, losing the context's state.
const interruptGrace = 3 * time.Second

// Writer receives an execution's messages, in E2B's shape, in order.
type Writer interface {
	Write(msg any) error
}

// Execute runs code in c, streaming what it produces to w until the end.
// When ctx ends first (the client hung up or gave up), the cell is
// interrupted and the context stays usable.
func (m *Manager) Execute(ctx context.Context, c *Context, code string, env map[string]string, w Writer) error {
	return m.execute(ctx, c, request{Code: code, Env: env}, w)
}

func (m *Manager) execute(ctx context.Context, c *Context, req request, w Writer) error {
	if err := m.lock(ctx, c); err != nil {
		return err
	}
	defer m.unlock(c)
	if c.removed {
		return w.Write(errorMsg("ContextRemoved", "the context was removed", ""))
	}
	k, err := m.ensureKernel(c)
	if err != nil {
		return w.Write(errorMsg("ContextStartError", err.Error(), ""))
	}
	if c.lost != "" {
		// The client that lost the state is gone; this one is told.
		_ = w.Write(outputMsg{Type: "stderr", Text: "[soulbox] " + c.lost + "\n", Timestamp: time.Now().UTC().Format(time.RFC3339Nano)})
		c.lost = ""
	}
	ex := &execution{w: w, done: make(chan int, 1)}
	detach, err := k.run(req, ex)
	if err != nil {
		k.kill()
		return w.Write(errorMsg("ContextError", err.Error(), ""))
	}
	defer detach()

	keepalive := time.NewTicker(keepaliveInterval)
	defer keepalive.Stop()
	for {
		select {
		case n := <-ex.done:
			_ = w.Write(map[string]any{"type": "number_of_executions", "execution_count": n})
			return w.Write(map[string]string{"type": "end_of_execution"})
		case <-k.exited:
			m.log.Warn("interpreter context died", "context", c.ID, "status", exitStatus(k.status))
			return w.Write(errorMsg("ContextDied", fmt.Sprintf("the %s process of this context ended (%s); its state is lost and the next execution starts afresh", c.Language, exitStatus(k.status)), ""))
		case <-keepalive.C:
			if err := w.Write(map[string]string{"type": "keepalive"}); err != nil {
				// Nobody is reading any more.
				m.interrupt(c, k, ex)
				return err
			}
		case <-ctx.Done():
			m.interrupt(c, k, ex)
			return ctx.Err()
		}
	}
}

// keepaliveInterval spaces the messages that keep an idle stream open
// through proxies while a cell computes silently.
const keepaliveInterval = 20 * time.Second

// interrupt stops the running cell; one that does not stop in time takes
// its driver with it.
func (m *Manager) interrupt(c *Context, k *kernel, ex *execution) {
	ex.mute()
	k.interrupt()
	timer := time.NewTimer(interruptGrace)
	defer timer.Stop()
	select {
	case <-ex.done:
	case <-k.exited:
	case <-timer.C:
		m.log.Warn("interpreter context ignored the interrupt; restarting it", "context", c.ID)
		k.close()
		c.lost = fmt.Sprintf("the previous execution ignored its interrupt for %s and took the context's state with it: this is a fresh %s process", interruptGrace, c.Language)
	}
}

// execution is one cell's sink: it turns the driver's output and events
// into E2B's messages.
type execution struct {
	w    Writer
	done chan int
	// muted executions drop what they receive: their client is gone.
	muted atomic.Bool
}

func (e *execution) mute() { e.muted.Store(true) }

func (e *execution) silent() bool { return e.muted.Load() }

func (e *execution) output(stream, text string) {
	if e.silent() {
		return
	}
	_ = e.w.Write(outputMsg{Type: stream, Text: text, Timestamp: time.Now().UTC().Format(time.RFC3339Nano)})
}

func (e *execution) event(ev event) {
	switch ev.Type {
	case "done":
		// Nothing may follow end_of_execution: output a background task
		// writes from now on belongs to no execution.
		e.mute()
		select {
		case e.done <- ev.ExecutionCount:
		default:
		}
	case "result", "error":
		if e.silent() {
			return
		}
		_ = e.w.Write(ev.Fields)
	}
}

type outputMsg struct {
	Type      string `json:"type"`
	Text      string `json:"text"`
	Timestamp string `json:"timestamp"`
}

func errorMsg(name, value, traceback string) map[string]string {
	return map[string]string{"type": "error", "name": name, "value": value, "traceback": traceback}
}
