package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/lifecycle"
	"github.com/soulbox/soulbox/internal/runtime"
	"github.com/soulbox/soulbox/internal/runtime/oci"
	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// policyDriver is the real driver with network policy changes observed,
// slowed down, and failing on demand (all but deny-all ones).
type policyDriver struct {
	*oci.Driver
	fail     atomic.Bool
	inFlight atomic.Int32
	overlap  atomic.Bool
	mu       sync.Mutex
	applied  []runtime.NetworkPolicy
}

func (d *policyDriver) SetNetworkPolicy(ctx context.Context, id string, p runtime.NetworkPolicy) error {
	if d.inFlight.Add(1) > 1 {
		d.overlap.Store(true)
	}
	defer d.inFlight.Add(-1)
	time.Sleep(20 * time.Millisecond)
	if d.fail.Load() && !p.BlocksAll() {
		return errors.New("injected policy failure")
	}
	d.mu.Lock()
	d.applied = append(d.applied, p)
	d.mu.Unlock()
	return d.Driver.SetNetworkPolicy(ctx, id, p)
}

func (d *policyDriver) last() runtime.NetworkPolicy {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.applied) == 0 {
		return runtime.NetworkPolicy{}
	}
	return d.applied[len(d.applied)-1]
}

func newPolicyEnv(t *testing.T) (*lifecycle.Manager, store.Store, *policyDriver) {
	t.Helper()
	if testing.Short() {
		t.Skip("creates real sandboxes")
	}
	templates := ocitest.Templates(t)
	real, err := oci.New(oci.Config{Root: ocitest.Root(t), AgentPath: ocitest.AgentBinary(t), Templates: templates})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d := &policyDriver{Driver: real}
	m := lifecycle.New(lifecycle.Config{Store: st, Driver: d, Templates: templates})
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Stop()
		live, _ := st.ListSandboxes(context.Background(), store.SandboxFilter{States: []store.SandboxState{store.StateRunning, store.StatePaused}})
		for _, sb := range live {
			_ = m.Kill(context.Background(), sb.ID, store.ReasonKilled, "test over")
		}
	})
	return m, st, d
}

func TestUpdateNetwork(t *testing.T) {
	m, st, d := newPolicyEnv(t)
	ctx := context.Background()
	sb, err := m.Create(ctx, lifecycle.CreateRequest{TemplateID: "base", Team: "t"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("concurrent updates apply one at a time, the last recorded last", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := m.UpdateNetwork(ctx, sb.ID, lifecycle.NetworkRequest{DenyOut: []string{fmt.Sprintf("192.0.2.%d/32", i)}}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if d.overlap.Load() {
			t.Error("two policy changes of one sandbox ran at once")
		}
		got, err := st.GetSandbox(ctx, sb.ID)
		if err != nil {
			t.Fatal(err)
		}
		last := d.last()
		if got.Network == nil || len(last.DenyOut) != 1 || len(got.Network.DenyOut) != 1 || got.Network.DenyOut[0] != last.DenyOut[0].String() {
			t.Errorf("recorded %+v, applied last %+v", got.Network, last)
		}
	})

	t.Run("a policy that cannot be applied fails closed, with an event", func(t *testing.T) {
		d.fail.Store(true)
		defer d.fail.Store(false)
		_, err := m.UpdateNetwork(ctx, sb.ID, lifecycle.NetworkRequest{AllowOut: []string{"198.51.100.0/24"}})
		if err == nil {
			t.Fatal("an update that could not be applied succeeded")
		}
		if last := d.last(); !last.BlocksAll() {
			t.Errorf("after the failure the sandbox has %+v, not a policy denying all", last)
		}
		evs, err := st.ListEvents(ctx, sb.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ev := evs[len(evs)-1]; ev.Type != lifecycle.EventNetworkFailedClosed || !strings.Contains(ev.Message, "injected policy failure") {
			t.Errorf("last event %+v, want %s naming the failure", ev, lifecycle.EventNetworkFailedClosed)
		}
		if got, _ := st.GetSandbox(ctx, sb.ID); got.State != store.StateRunning {
			t.Errorf("the sandbox is %s after the failure", got.State)
		}
	})
}
