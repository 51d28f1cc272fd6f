package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// testCheckpointObjects: where a paused sandbox's checkpoint is in object
// storage is recorded, replaced by the next pause's, read back, removed,
// and refused for an unknown or ended sandbox and for a malformed digest.
func (s *suite) testCheckpointObjects(t *testing.T) {
	ctx := context.Background()
	st := s.open(t)
	sb := sandbox("cp-object")
	mustCreate(t, st, sb)
	if _, err := st.CheckpointObject(ctx, sb.ID); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("record before any upload: %v, want not found", err)
	}
	first := store.CheckpointObject{SandboxID: sb.ID, Digest: "sha256:" + strings.Repeat("a", 64), Size: 4096,
		StoredAt: time.Date(2026, 3, 1, 12, 0, 0, 123000000, time.UTC)}
	if err := st.SetCheckpointObject(ctx, first); err != nil {
		t.Fatal(err)
	}
	if got, err := st.CheckpointObject(ctx, sb.ID); err != nil || got != first {
		t.Fatalf("record: %+v, %v; want %+v", got, err, first)
	}
	second := first
	second.Digest, second.Size, second.StoredAt = "sha256:"+strings.Repeat("b", 64), 8192, first.StoredAt.Add(time.Minute)
	if err := st.SetCheckpointObject(ctx, second); err != nil {
		t.Fatal(err)
	}
	if got, err := st.CheckpointObject(ctx, sb.ID); err != nil || got != second {
		t.Fatalf("replaced record: %+v, %v; want %+v", got, err, second)
	}
	noTime := second
	noTime.StoredAt = time.Time{}
	if err := st.SetCheckpointObject(ctx, noTime); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.CheckpointObject(ctx, sb.ID); got.StoredAt.IsZero() || got.StoredAt.Location() != time.UTC {
		t.Fatalf("zero StoredAt came back as %v, want the store's current time in UTC", got.StoredAt)
	}
	if err := st.DeleteCheckpointObject(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CheckpointObject(ctx, sb.ID); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("record after delete: %v, want not found", err)
	}
	if err := st.DeleteCheckpointObject(ctx, sb.ID); err != nil {
		t.Fatalf("deleting no record: %v", err)
	}

	for name, o := range map[string]store.CheckpointObject{
		"empty id":       {Digest: first.Digest, Size: 1},
		"no digest":      {SandboxID: sb.ID, Size: 1},
		"short digest":   {SandboxID: sb.ID, Digest: "sha256:abc", Size: 1},
		"other hash":     {SandboxID: sb.ID, Digest: "md5:" + strings.Repeat("a", 64), Size: 1},
		"zero size":      {SandboxID: sb.ID, Digest: first.Digest},
		"negative size":  {SandboxID: sb.ID, Digest: first.Digest, Size: -1},
		"uppercase hash": {SandboxID: sb.ID, Digest: "sha256:" + strings.Repeat("A", 64), Size: 1},
	} {
		if err := st.SetCheckpointObject(ctx, o); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: %v, want invalid argument", name, err)
		}
	}
	if _, err := st.CheckpointObject(ctx, sb.ID); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("refused records left one behind: %v", err)
	}
	unknown := first
	unknown.SandboxID = "cp-unknown"
	if err := st.SetCheckpointObject(ctx, unknown); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("record for an unknown sandbox: %v, want not found", err)
	}
	if err := st.SetCheckpointObject(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := st.EndSandbox(ctx, sb.ID, store.ReasonKilled, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetCheckpointObject(ctx, second); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("record for an ended sandbox: %v, want failed precondition", err)
	}
}
