package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/store"
)

// Every statement the writer keeps prepared is valid against the schema
// the migrations make (one that is not would silently be parsed again for
// each write), and the writes that use them still do their work.
func TestWriterStatementsPrepared(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "soulbox.db"))
	defer s.Close()
	for _, q := range hotWrites {
		if s.wstmts[q] == nil {
			t.Errorf("not prepared on the writer: %s", q)
		}
	}
	ctx := context.Background()
	if err := s.CreateSandbox(ctx, store.Sandbox{ID: "sb1", TemplateID: "base", State: store.StateRunning, CPUCount: 1, MemoryMB: 256, DiskMB: 1024}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	for range 3 { // the same statements again, in new transactions
		if err := s.SetEndAt(ctx, "sb1", at); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AppendAudit(ctx, []byte("key"), store.AuditEntry{Action: "sandbox.timeout", Target: "sb1"}); err != nil {
			t.Fatal(err)
		}
	}
	if sb, err := s.GetSandbox(ctx, "sb1"); err != nil || !sb.EndAt.Equal(at) {
		t.Errorf("end after set: %v %v", sb.EndAt, err)
	}
	evs, err := s.ListEvents(ctx, "sb1")
	if err != nil || len(evs) != 5 { // created and started, then three timeouts
		t.Errorf("events: %d, %v", len(evs), err)
	}
	if got, err := s.ListAudit(ctx, store.AuditFilter{}); err != nil || len(got) != 3 || got[2].ID != got[1].ID+1 || got[2].PrevHash != got[1].Hash {
		t.Errorf("audit chain: %+v, %v", got, err)
	}
	if err := s.SetEndAt(ctx, "nope", at); err == nil {
		t.Error("set end of an unknown sandbox succeeded")
	}
}
