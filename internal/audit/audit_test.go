package audit

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/store"
	"github.com/soulbox/soulbox/internal/store/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "soulbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// slowStore holds every append until release is closed.
type slowStore struct {
	store.Audit
	started chan struct{}
	release chan struct{}
}

func (s *slowStore) AppendAudit(ctx context.Context, key []byte, e store.AuditEntry) (store.AuditEntry, error) {
	close(s.started)
	<-s.release
	return s.Audit.AppendAudit(ctx, key, e)
}

// testKey is the audit key of the tests' logs.
var testKey = []byte("0123456789abcdef0123456789abcdef")

// TestAnswerWaitsForEntry: a change is answered only once its entry is
// durable, with the handler's status, headers and body.
func TestAnswerWaitsForEntry(t *testing.T) {
	st := openStore(t)
	slow := &slowStore{Audit: st, started: make(chan struct{}), release: make(chan struct{})}
	mux := http.NewServeMux()
	New(slow, testKey, 0, nil).Wrap(mux).HandleFunc("POST /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Thing", "made")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"1"}`))
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), store.APIKey{ID: "k1", Prefix: "e2b_abcdef", Team: "t1"})))
	}))
	defer srv.Close()

	answered := make(chan *http.Response, 1)
	go func() {
		resp, err := http.Post(srv.URL+"/things/1", "application/json", nil)
		if err != nil {
			t.Error(err)
			close(answered)
			return
		}
		answered <- resp
	}()
	<-slow.started
	select {
	case <-answered:
		t.Fatal("answered before the audit entry was written")
	case <-time.After(200 * time.Millisecond):
	}
	close(slow.release)
	resp := <-answered
	if resp == nil {
		return
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.Header.Get("X-Thing") != "made" {
		t.Errorf("answer %d %v", resp.StatusCode, resp.Header)
	}
	list, _ := st.ListAudit(context.Background(), store.AuditFilter{})
	if len(list) != 1 || list[0].Action != "POST /things/{id}" || list[0].Team != "t1" || list[0].KeyID != "k1" || list[0].Status != 201 || list[0].Target != "/things/1" {
		t.Errorf("entries %+v", list)
	}
}

// TestRetention: entries older than the retention go at the next record,
// and the chain still verifies from its anchor.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	old := time.Now().Add(-48 * time.Hour)
	for range 3 {
		if _, err := st.AppendAudit(ctx, testKey, store.AuditEntry{Time: old, Action: "POST /sandboxes", Status: 201}); err != nil {
			t.Fatal(err)
		}
	}
	rc := New(st, testKey, 24*time.Hour, nil)
	if err := rc.Record(ctx, store.AuditEntry{Action: "DELETE /sandboxes/{id}", Status: 204}); err != nil {
		t.Fatal(err)
	}
	list, _ := st.ListAudit(ctx, store.AuditFilter{})
	if len(list) != 2 || list[0].ID != 4 || list[1].Action != PruneAction || list[1].Target != "through 3 "+list[0].PrevHash {
		t.Errorf("after retention: %+v, want entry 4 and the prune's record", list)
	}
	res, err := Verify(ctx, st, testKey)
	if err != nil || !res.OK() || res.Entries != 2 || res.HeadID != 5 {
		t.Errorf("verify after retention: %+v, %v", res, err)
	}
}

// failingStore fails every append.
type failingStore struct{ store.Audit }

func (failingStore) AppendAudit(context.Context, []byte, store.AuditEntry) (store.AuditEntry, error) {
	return store.AuditEntry{}, errors.New("disk full")
}

// TestUnrecordedChange: a key, team or quota change whose entry cannot
// be written is not answered as a success; other routes answer as their
// handler did (the failure is logged).
func TestUnrecordedChange(t *testing.T) {
	mux := http.NewServeMux()
	w := New(failingStore{openStore(t)}, testKey, 0, nil).Wrap(mux)
	ok := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/x")
		w.WriteHeader(http.StatusCreated)
	}
	w.HandleFunc("POST /api-keys", ok)
	w.HandleFunc("DELETE /admin/teams/{teamID}", ok)
	w.HandleFunc("POST /sandboxes/{id}/pause", ok)
	for path, want := range map[string]int{"/api-keys": 503, "/admin/teams/t1": 503, "/sandboxes/s1/pause": 201} {
		method := "POST"
		if strings.HasPrefix(path, "/admin") {
			method = "DELETE"
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		if rec.Code != want {
			t.Errorf("%s %s with a failing log = %d %s, want %d", method, path, rec.Code, rec.Body, want)
		}
		if want == 503 && (rec.Header().Get("Location") != "" || !strings.Contains(rec.Body.String(), "audit entry could not be written")) {
			t.Errorf("%s: %v %s", path, rec.Header(), rec.Body)
		}
	}
}
