// Package audit records who changed what through the API, and every
// refused credential, in the store's hash-chained audit log, and checks
// the chain.
//
// A state-changing call (any method but GET and HEAD) is recorded after
// its handler ran and before its answer is sent: the answer is held
// until the entry is durable. The change itself is committed before its
// entry: if the entry then cannot be written (or the process dies in
// between), the change stands unrecorded. The failure is logged at
// error level, and a key, team or quota change is then answered 503
// instead of its success; other routes answer as their handler did.
// Reads are not recorded.
package audit

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/soulbox/soulbox/internal/auth"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/httperr"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/ratelimit"
	"github.com/soulbox/soulbox/internal/store"
)

// pruneEvery is how often at most the recorder applies the retention.
const pruneEvery = time.Hour

// Recorder writes audit entries. A nil *Recorder records nothing.
type Recorder struct {
	st        store.Audit
	key       []byte
	retention time.Duration
	log       *slog.Logger

	failures *ratelimit.Failures // if set, collapses refusals per address

	mu         sync.Mutex
	lastPruned time.Time
}

// CollapseFailures makes AuthFailure record only the first refused
// credential of each address per window of f, and the others as one
// entry with their count once the window ends. Call before use.
func (rc *Recorder) CollapseFailures(f *ratelimit.Failures) { rc.failures = f }

// New returns a recorder writing to st, its entries' hashes HMACs under
// key (LoadKey), that deletes entries older than retention (0: keeps
// them all).
func New(st store.Audit, key []byte, retention time.Duration, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{st: st, key: key, retention: retention, log: log}
}

// Verify checks the chain rec writes (Verify).
func (rc *Recorder) Verify(ctx context.Context) (Result, error) { return Verify(ctx, rc.st, rc.key) }

// Record appends e. A failure is logged and returned: the call it
// records has already happened.
func (rc *Recorder) Record(ctx context.Context, e store.AuditEntry) error {
	if rc == nil {
		return nil
	}
	// A client that hangs up does not cancel the record of its call.
	ctx = context.WithoutCancel(ctx)
	if _, err := rc.st.AppendAudit(ctx, rc.key, e); err != nil {
		rc.log.Error("write audit entry", slog.String("action", e.Action), slog.String("target", e.Target), logx.Err(err))
		return err
	}
	rc.prune(ctx)
	return nil
}

// prune applies the retention at most once per pruneEvery.
func (rc *Recorder) prune(ctx context.Context) {
	if rc.retention <= 0 {
		return
	}
	now := time.Now()
	rc.mu.Lock()
	if now.Sub(rc.lastPruned) < pruneEvery {
		rc.mu.Unlock()
		return
	}
	rc.lastPruned = now
	rc.mu.Unlock()
	n, err := rc.st.PruneAudit(ctx, now.Add(-rc.retention))
	if err != nil {
		rc.log.Error("prune audit log", logx.Err(err))
		return
	}
	if n == 0 {
		return
	}
	rc.log.Info("pruned audit log", slog.Int("entries", n), slog.Duration("retention", rc.retention))
	// The prune is itself an entry, naming the new anchor: deleting the
	// first entries and moving the anchor by hand leaves no such entry
	// (its hash needs the key), which Verify finds.
	a, err := rc.st.AuditAnchor(ctx)
	if err == nil {
		_, err = rc.st.AppendAudit(ctx, rc.key, pruneEntry(a))
	}
	if err != nil {
		rc.log.Error("record the audit log's prune: verify will report the entries before it as deleted", logx.Err(err))
	}
}

// AuthFailure records a refused credential: r's method and path, its
// client and the message it was answered with. It suits
// auth.Authenticator's Failed hook. With CollapseFailures, only the
// first refusal of an address per window is recorded so, the others as
// a count when the window ends.
func (rc *Recorder) AuthFailure(r *http.Request, err error) {
	if rc == nil {
		return
	}
	if rc.failures != nil {
		first, ended := rc.failures.Fail(r)
		rc.recordSummaries(r.Context(), ended)
		if !first {
			return
		}
	}
	status, msg, _ := httperr.Resolve(err)
	_ = rc.Record(r.Context(), store.AuditEntry{Action: r.Method + " authenticate", Target: r.URL.Path,
		Remote: r.RemoteAddr, Status: status, Message: msg})
}

// FlushFailures records the counts of refusals not yet recorded (at
// shutdown).
func (rc *Recorder) FlushFailures(ctx context.Context) {
	if rc == nil || rc.failures == nil {
		return
	}
	rc.recordSummaries(ctx, rc.failures.Flush())
}

// RepeatedAction is the action of an entry counting an address's refused
// credentials after the first of a window.
const RepeatedAction = "REPEATED authenticate"

func (rc *Recorder) recordSummaries(ctx context.Context, ss []ratelimit.Summary) {
	for _, s := range ss {
		_ = rc.Record(ctx, store.AuditEntry{Action: RepeatedAction, Remote: s.Remote, Status: http.StatusUnauthorized,
			Message: fmt.Sprintf("%d more refused credentials from %s between %s and %s", s.Count, s.Remote,
				s.Start.UTC().Format(time.RFC3339), s.End.UTC().Format(time.RFC3339))})
	}
}

// Router is where routes are registered (an *http.ServeMux, or
// authz.Guard's router).
type Router interface {
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Wrap returns a Router that registers routes on mux recording every
// call that may change state (not GET or HEAD) after its handler ran,
// with the route pattern as its action.
func (rc *Recorder) Wrap(mux Router) Router { return wrapped{mux: mux, rc: rc} }

type wrapped struct {
	mux Router
	rc  *Recorder
}

func (w wrapped) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	if w.rc == nil {
		w.mux.HandleFunc(pattern, h)
		return
	}
	w.mux.HandleFunc(pattern, func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			h(rw, r)
			return
		}
		held := &heldResponse{header: rw.Header()}
		h(held, r)
		e := store.AuditEntry{Action: action(pattern, r), Target: r.URL.Path, Remote: r.RemoteAddr, Status: held.code()}
		if k, ok := auth.FromContext(r.Context()); ok {
			e.Team, e.KeyID, e.KeyPrefix = k.Team, k.ID, k.Prefix
		}
		// A server admin's change to another team is that team's record:
		// its owners read it there (server admins read every team's).
		if tid := r.PathValue("teamID"); tid != "" && strings.Contains(pattern, "/admin/teams/{teamID}") {
			e.Team = tid
		}
		// So is a change to another team's members, which only a server
		// admin makes; another team's refused attempt (404) stays its
		// own, telling the team named nothing.
		if tid := r.PathValue("teamID"); tid != "" && strings.HasPrefix(pattern, r.Method+" /teams/{teamID}/members") && e.Status < 400 {
			e.Team = tid
		}
		if e.Status >= 400 {
			e.Message = errorMessage(held.body)
		}
		if err := w.rc.Record(r.Context(), e); err != nil && mustRecord(pattern) && e.Status < 400 {
			// The change is made but unrecorded: say so rather than
			// answer success for a change the log does not have.
			for k := range rw.Header() {
				rw.Header().Del(k)
			}
			httperr.Write(rw, r, nil, fmt.Errorf("the change was made but its audit entry could not be written (the server's log says why): %w",
				errdefs.ErrUnavailable))
			return
		}
		held.sendTo(rw)
	})
}

// mustRecord reports whether a change through pattern must not be
// answered as a success without its entry: the routes that manage keys,
// teams, quotas, access tokens and secrets, whose log is what a
// compliance reader checks.
func mustRecord(pattern string) bool {
	_, path, _ := strings.Cut(pattern, " ")
	return strings.HasPrefix(path, "/api-keys") || strings.HasPrefix(path, "/admin/") || strings.HasPrefix(path, "/access-tokens") ||
		strings.HasPrefix(path, "/secrets")
}

// action is the route pattern with the method, for a method-less one.
func action(pattern string, r *http.Request) string {
	for i := range len(pattern) {
		if pattern[i] == ' ' {
			return pattern
		}
		if pattern[i] == '/' {
			break
		}
	}
	return r.Method + " " + pattern
}
