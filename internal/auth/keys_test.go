package auth

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/store/sqlite"
)

// openStore returns a new SQLite store, closed when t ends.
func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		key, hash, prefix := Generate()
		if !ValidFormat(key) {
			t.Fatalf("generated key %q has the wrong format", key)
		}
		if hash != Hash(key) || len(hash) != 64 || hash == key {
			t.Errorf("hash %q of %q", hash, key)
		}
		if prefix != key[:10] || !strings.HasPrefix(prefix, "e2b_") {
			t.Errorf("prefix %q of %q", prefix, key)
		}
		if seen[key] {
			t.Fatalf("key %q generated twice", key)
		}
		seen[key] = true
	}
}

func TestHash(t *testing.T) {
	// sha256sum of the key's bytes, hex.
	const key = "e2b_0000000000000000000000000000000000000000"
	if got, want := Hash(key), "6aa1fc737ae695d4574acd499f9ec1cc63a1d245f89b676451e5db329ce22c0c"; got != want {
		t.Errorf("Hash(%q) = %s, want %s", key, got, want)
	}
}

func TestValidFormat(t *testing.T) {
	for key, want := range map[string]bool{
		"e2b_0123456789abcdef0123456789abcdef01234567": true,
		"":        false,
		"e2b_":    false,
		"e2b_abc": false, // the SDKs accept it; this server never issues it
		"e2b_0123456789ABCDEF0123456789abcdef01234567":   false, // upper case
		"e2b_0123456789abcdef0123456789abcdef012345678":  false, // 41 digits
		"e2b_0123456789abcdef0123456789abcdef0123456":    false, // 39 digits
		"e2b_0123456789abcdef0123456789abcdef0123456g":   false,
		"E2B_0123456789abcdef0123456789abcdef01234567":   false,
		" e2b_0123456789abcdef0123456789abcdef01234567":  false,
		"e2b_0123456789abcdef0123456789abcdef01234567\n": false,
		"sk_0123456789abcdef0123456789abcdef01234567":    false,
	} {
		if got := ValidFormat(key); got != want {
			t.Errorf("ValidFormat(%q) = %t, want %t", key, got, want)
		}
	}
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	key, k, err := Create(ctx, st, "ci", "team1", false)
	if err != nil {
		t.Fatal(err)
	}
	if !ValidFormat(key) || k.Hash != Hash(key) || k.Prefix != Prefix(key) || k.Team != "team1" || k.Admin {
		t.Errorf("created %q as %+v", key, k)
	}
	if got, err := st.APIKeyByHash(ctx, Hash(key)); err != nil || got.ID != k.ID || got.Name != "ci" {
		t.Errorf("stored %+v, %v", got, err)
	}
	if _, _, err := Create(ctx, st, "", "team1", false); err == nil {
		t.Error("a key without a name was created")
	}
}
