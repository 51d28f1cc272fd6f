package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/soulbox/soulbox/internal/client"
)

// MetadataKey tags every sandbox the bench creates with the run's id, so
// that a run's sandboxes can be found (and killed) by metadata even if the
// bench itself could not finish.
const MetadataKey = "soulbox-bench"

const (
	// sandboxLifetime is the server-side timeout of the bench's sandboxes:
	// the last safety net should the bench die without cleaning up.
	sandboxLifetime = 30 * time.Minute
	// createTimeout bounds one create; killTimeout one kill.
	createTimeout = 2 * time.Minute
	killTimeout   = 30 * time.Second
)

// fleet creates the bench's sandboxes and makes sure none outlives the
// run: it remembers each one until it is killed, and cleanup kills what is
// left with a context of its own, since it runs after an interrupt.
type fleet struct {
	cl, cold *client.Client
	template string
	tag      string

	mu   sync.Mutex
	live map[string]bool
	// created is set once a create succeeded: a server that never
	// answered one has no sandbox of the run to sweep for.
	created bool
}

func newFleet(cl *client.Client, template string) *fleet {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &fleet{cl: cl, cold: withoutPool(cl), template: template, tag: hex.EncodeToString(b), live: map[string]bool{}}
}

// create creates a sandbox, from the warm pool unless cold. The request is
// not cancelled with ctx: a create the server completes after the client
// gave up would leave a sandbox nobody knows of; this way every create
// that succeeds is tracked, and killed at the latest by cleanup.
func (f *fleet) create(ctx context.Context, cold bool) (client.Sandbox, error) {
	if err := ctx.Err(); err != nil {
		return client.Sandbox{}, err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	defer cancel()
	cl := f.cl
	if cold {
		cl = f.cold
	}
	sb, err := cl.Create(cctx, client.CreateOptions{
		Template: f.template,
		Timeout:  sandboxLifetime,
		Metadata: map[string]string{MetadataKey: f.tag},
	})
	if err != nil {
		return sb, fmt.Errorf("create a sandbox of template %s: %w", f.template, err)
	}
	f.mu.Lock()
	f.live[sb.SandboxID] = true
	f.created = true
	f.mu.Unlock()
	return sb, nil
}

// kill kills a sandbox of the fleet, even after ctx is cancelled. A
// sandbox the server no longer has counts as killed.
func (f *fleet) kill(ctx context.Context, id string) error {
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), killTimeout)
	defer cancel()
	err := f.cl.Kill(kctx, id)
	var apiErr *client.Error
	if err != nil && !(errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound) {
		return fmt.Errorf("kill sandbox %s: %w", id, err)
	}
	f.mu.Lock()
	delete(f.live, id)
	f.mu.Unlock()
	return nil
}

// cleanup kills every sandbox of the fleet still alive: those it tracks,
// then any the server lists with the run's tag (a create whose answer was
// lost). It returns how many it killed.
func (f *fleet) cleanup(ctx context.Context) (int, error) {
	ctx = context.WithoutCancel(ctx)
	ids := map[string]bool{}
	f.mu.Lock()
	for id := range f.live {
		ids[id] = true
	}
	sweep := f.created
	f.mu.Unlock()
	var mu sync.Mutex
	var errs []error
	if sweep {
		lctx, cancel := context.WithTimeout(ctx, killTimeout)
		listed, err := f.cl.List(lctx, client.ListOptions{Metadata: map[string]string{MetadataKey: f.tag}})
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("list the bench's sandboxes: %w", err))
		}
		for _, sb := range listed {
			ids[sb.SandboxID] = true
		}
	}
	killed := 0
	var g errgroup.Group
	g.SetLimit(8)
	for id := range ids {
		g.Go(func() error {
			err := f.kill(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else {
				killed++
			}
			return nil
		})
	}
	_ = g.Wait()
	return killed, errors.Join(errs...)
}
