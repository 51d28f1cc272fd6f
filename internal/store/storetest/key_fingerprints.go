package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
)

// testKeyFingerprints: the first fingerprint claimed for a key is kept
// and returned to every later claim, also when several claim at once;
// keys are apart; an empty name or fingerprint is refused, recording
// nothing.
func (s *suite) testKeyFingerprints(t *testing.T) {
	ctx := context.Background()
	st := s.open(t)
	if _, err := st.ClaimKeyFingerprint(ctx, "audit key", ""); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("empty fingerprint: %v, want invalid argument", err)
	}
	if _, err := st.ClaimKeyFingerprint(ctx, "", "aa"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("empty name: %v, want invalid argument", err)
	}
	got := make([]string, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = st.ClaimKeyFingerprint(ctx, "audit key", string(rune('a'+i)))
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i] != got[0] {
			t.Fatalf("concurrent claims: %q, %v; want one fingerprint for all", got, errors.Join(errs...))
		}
	}
	if fp, err := st.ClaimKeyFingerprint(ctx, "audit key", "other"); err != nil || fp != got[0] {
		t.Errorf("a later claim = %q, %v; want the first, %q", fp, err, got[0])
	}
	if fp, err := st.ClaimKeyFingerprint(ctx, "token key", "tk"); err != nil || fp != "tk" {
		t.Errorf("another key's first claim = %q, %v; want its own", fp, err)
	}
}
