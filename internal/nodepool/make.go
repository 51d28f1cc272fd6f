package nodepool

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/soulbox/soulbox/internal/agentinit"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/runtime"
)

// makeDeadline bounds making one pooled sandbox: a refill never waits on
// a hung runtime for ever.
const makeDeadline = 2 * time.Minute

// poolNiceness is the CPU niceness pooled sandboxes are made and wait
// at, as on the embedded node: making them yields to the sandboxes in
// use.
const poolNiceness = 10

// maker makes the pool's sandboxes: created and started with the
// default limits and the open network, the agent up and the interpreter
// languages of prewarm started ahead. The node pools only templates it
// builds itself, which have no settings of their own (environment,
// user, start command) to apply ahead.
type maker struct{ p *Pool }

func (mk maker) Make(ctx context.Context, template string, prewarm []string) (_ string, err error) {
	d := mk.p.d
	ctx, cancel := context.WithTimeout(ctx, makeDeadline)
	defer cancel()
	id := newID()
	// Held from before the runtime knows it: the service never lists it.
	if err := mk.p.hold(id); err != nil {
		return "", err
	}
	spec := runtime.Spec{ID: id, Template: template, Limits: runtime.Limits{}.WithDefaults(), Niceness: poolNiceness}
	if _, err := d.Create(ctx, spec); err != nil {
		mk.p.release(id)
		return "", err
	}
	defer func() {
		if err != nil {
			if derr := mk.Destroy(context.WithoutCancel(ctx), id); derr != nil {
				mk.p.log.Error("destroy failed pooled sandbox", "sandbox.id", id, "err", derr)
			}
		}
	}()
	if err := d.Start(ctx, id); err != nil {
		return "", err
	}
	if err := agentinit.Wait(ctx, d, id, 15*time.Second); err != nil {
		return "", err
	}
	if len(prewarm) > 0 {
		b, _ := json.Marshal(map[string]any{"soulboxPrewarm": prewarm})
		if err := agentinit.Post(ctx, d, id, b); err != nil {
			return "", fmt.Errorf("init pooled sandbox (prewarm %v): %w", prewarm, err)
		}
	}
	return id, nil
}

func (mk maker) Destroy(ctx context.Context, id string) error {
	err := mk.p.d.Destroy(ctx, id)
	if err == nil || errdefs.IsNotFound(err) {
		mk.p.release(id)
		return nil
	}
	return err
}

func (mk maker) MemoryMiB(ctx context.Context, id string) float64 {
	st, err := mk.p.d.Stats(ctx, id)
	if err != nil {
		return 0
	}
	return float64(st.MemoryUsage) / (1 << 20)
}

// alphabet of sandbox ids, the control plane's (lifecycle): a claimed
// sandbox keeps the id it was made with.
const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newID returns a random sandbox id in the control plane's form: "i"
// and 19 characters.
func newID() string {
	b := make([]byte, 19)
	_, _ = rand.Read(b)
	out := []byte{'i'}
	for _, c := range b {
		out = append(out, alphabet[int(c)%len(alphabet)])
	}
	return string(out)
}
