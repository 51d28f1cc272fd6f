// Package agentinit brings up a sandbox's agent from outside the
// sandbox, through a driver's connection to its port: wait for its
// /health, then hand it its settings with POST /init. The control plane
// does it for the sandboxes it creates (lifecycle), and a joined node
// for the ones its warm pool makes and hands out (nodepool).
package agentinit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/soulbox/soulbox/internal/envd"
	"github.com/soulbox/soulbox/internal/runtime"
)

// Client talks to the agent of sandbox id through d.
func Client(d runtime.Dialer, id string) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.DialContext(ctx, id, envd.Port)
			},
			DisableKeepAlives: true,
		},
		Timeout: 10 * time.Second,
	}
}

// Wait polls the agent's health until it answers or wait passes.
func Wait(ctx context.Context, d runtime.Dialer, id string, wait time.Duration) error {
	c := Client(d, id)
	return untilUp(ctx, wait, func() (bool, error) {
		err := probe(ctx, c)
		return err == nil, err
	})
}

// An agent listens a few milliseconds after its sandbox starts: asked
// again after 1, 2, 4 and then every 5 ms, it is answered within a
// millisecond or two of listening, without a dial every millisecond for
// a slow one.
const (
	pollFirst = time.Millisecond
	pollMax   = 5 * time.Millisecond
)

// untilUp calls try until it is done, at the pace above, or until wait
// passes or ctx ends, which fails with try's last error.
func untilUp(ctx context.Context, wait time.Duration, try func() (done bool, err error)) error {
	deadline := time.Now().Add(wait)
	for pause := pollFirst; ; pause = min(2*pause, pollMax) {
		done, err := try()
		if done {
			return err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("agent did not come up: %w", err)
		}
		time.Sleep(pause)
	}
}

// Init hands a starting agent its /init body, asking again while the
// request gets no answer (the agent does not take connections yet), until
// wait passes. It is Wait and Post in one: the agent answers /init only
// once it is up. An answer other than success is final. /init may so
// reach the agent twice, if an answer is lost; it sets the same values.
func Init(ctx context.Context, d runtime.Dialer, id string, body []byte, wait time.Duration) error {
	return untilUp(ctx, wait, func() (bool, error) {
		err := Post(ctx, d, id, body)
		var answered *answerError
		return err == nil || errors.As(err, &answered), err
	})
}

// Probe asks the agent's GET /health once, within ctx.
func Probe(ctx context.Context, d runtime.Dialer, id string) error {
	return probe(ctx, Client(d, id))
}

func probe(ctx context.Context, c *http.Client) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://agent/health", nil)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("health answered %s", resp.Status)
	}
	return nil
}

// Post sends the agent an /init body (JSON).
func Post(ctx context.Context, d runtime.Dialer, id string, body []byte) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://agent/init", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := Client(d, id).Do(req)
	if err != nil {
		return fmt.Errorf("init agent: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("init agent: %w", &answerError{resp.Status})
	}
	return nil
}

// answerError is an answer of the agent's other than success.
type answerError struct{ status string }

func (e *answerError) Error() string { return e.status }
