package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// A read through a statement prepared earlier sees what was committed
// since.
func TestPreparedReadsSeeLaterWrites(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, filepath.Join(t.TempDir(), "soulbox.db"))
	defer s.Close()
	end := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	if err := s.CreateSandbox(ctx, store.Sandbox{ID: "a", TemplateID: "base", State: store.StateRunning, EndAt: end}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		end = end.Add(time.Minute)
		if err := s.SetEndAt(ctx, "a", end); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSandbox(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if !got.EndAt.Equal(end) {
			t.Fatalf("read %d: end %v, want %v", i, got.EndAt, end)
		}
	}
	if _, err := s.GetSandbox(ctx, "b"); err == nil {
		t.Fatal("missing sandbox found")
	}
	if err := s.CreateSandbox(ctx, store.Sandbox{ID: "b", TemplateID: "base", State: store.StateRunning}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSandbox(ctx, "b"); err != nil {
		t.Fatalf("sandbox created after the statement was prepared: %v", err)
	}
}

// Past the cache's bound, reads still run, prepared for their one use.
func TestReadStmtsBounded(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, filepath.Join(t.TempDir(), "soulbox.db"))
	defer s.Close()
	for i := range maxReadStmts + 10 {
		var n int
		if err := s.queryRow(ctx, fmt.Sprintf("SELECT %d + ?", i), 1).Scan(&n); err != nil || n != i+1 {
			t.Fatalf("query %d: %d, %v", i, n, err)
		}
	}
	if n := s.stmts.n.Load(); n != maxReadStmts {
		t.Errorf("%d statements kept, want the bound %d", n, maxReadStmts)
	}
}
