package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

func (s *suite) testSetNetwork(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()

	// A sandbox created without a network configuration has none: the
	// defaults.
	plain := sandbox("net-plain")
	plain.Network, plain.TrafficAccessToken, plain.Lifecycle = nil, "", store.Lifecycle{}
	mustCreate(t, st, plain)
	if got := mustGet(t, st, plain.ID); got.Network != nil || got.TrafficAccessToken != "" || got.Lifecycle != (store.Lifecycle{}) {
		t.Fatalf("defaults came back as %+v, token %q, lifecycle %+v", got.Network, got.TrafficAccessToken, got.Lifecycle)
	}

	n := store.NetworkConfig{AllowInternetAccess: true, DenyOut: []string{"10.0.0.0/8"}, AllowPublicTraffic: true}
	if err := st.SetNetwork(ctx, plain.ID, n); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, st, plain.ID)
	if diff := cmp.Diff(&n, got.Network); diff != "" {
		t.Errorf("network after SetNetwork (-want +got):\n%s", diff)
	}
	if evs := eventTypes(mustEvents(t, st, plain.ID)); evs[len(evs)-1] != store.EventNetworkUpdated {
		t.Errorf("events %v: want %s last", evs, store.EventNetworkUpdated)
	}
	// Replacing clears what the new configuration omits.
	if err := st.SetNetwork(ctx, plain.ID, store.NetworkConfig{AllowInternetAccess: true}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, st, plain.ID); len(got.Network.DenyOut) != 0 || got.Network.AllowPublicTraffic {
		t.Errorf("after a replace: %+v", got.Network)
	}

	wantErr(t, st.SetNetwork(ctx, "net-unknown", n), errdefs.ErrNotFound, "unknown sandbox")
	if err := st.EndSandbox(ctx, plain.ID, store.ReasonKilled, "", at(0)); err != nil {
		t.Fatal(err)
	}
	wantErr(t, st.SetNetwork(ctx, plain.ID, n), errdefs.ErrFailedPrecondition, "ended sandbox")
	wantErr(t, st.SetNetwork(ctx, "", n), errdefs.ErrInvalidArgument, "empty id")
}
