package audit

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/ratelimit"
	"github.com/soulbox/soulbox/internal/store"
)

// TestRefusalsCollapse: a client sending bad credentials in a loop adds
// one entry per window, then one counting the rest, however many it
// sends and however long its paths.
func TestRefusalsCollapse(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	rc := New(st, testKey, 0, nil)
	rc.CollapseFailures(ratelimit.NewFailures(1000, time.Hour, 16))
	for i := range 200 {
		r := httptest.NewRequest("POST", "/sandboxes/"+strings.Repeat("x", 10<<10)+fmt.Sprint(i), nil)
		r.RemoteAddr = "192.0.2.7:4000"
		rc.AuthFailure(r, fmt.Errorf("unknown API key: %w", errdefs.ErrUnauthenticated))
	}
	list, _ := st.ListAudit(ctx, store.AuditFilter{})
	if len(list) != 1 || list[0].Action != "POST authenticate" || len(list[0].Target) > store.MaxAuditText {
		t.Fatalf("after 200 refusals: %d entries, want 1 short one: %+v", len(list), list)
	}
	rc.FlushFailures(ctx)
	list, _ = st.ListAudit(ctx, store.AuditFilter{})
	if len(list) != 2 || list[1].Action != RepeatedAction || list[1].Remote != "192.0.2.7" ||
		!strings.HasPrefix(list[1].Message, "199 more refused credentials from 192.0.2.7") {
		t.Errorf("after the flush: %+v, want a count of 199", list)
	}
	if res, err := Verify(ctx, st, testKey); err != nil || !res.OK() {
		t.Errorf("verify: %+v, %v", res, err)
	}
}
