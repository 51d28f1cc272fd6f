package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/soulbox/soulbox/internal/audit"
	"github.com/soulbox/soulbox/internal/authz"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// listAudit is GET /audit (a SoulBox extension): the audit log, oldest
// first. Query: since (RFC 3339 time or a duration back from now, e.g.
// 24h), after (an entry id, to page on), limit (1-1000, default 1000),
// team (server admins only: any team's, or "" for all), format=jsonl
// for JSON lines. A team's owners and admins read their team's entries.
func (t *Teams) listAudit(w http.ResponseWriter, r *http.Request) {
	k, err := caller(r)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	f, jsonl, err := parseAuditQuery(r, time.Now())
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if !authz.Allowed(k, authz.ServerAdmin) {
		if r.URL.Query().Has("team") && f.Team != k.Team {
			t.api.writeError(w, r, fmt.Errorf("team: only server admins read another team's audit log: %w", errdefs.ErrPermissionDenied))
			return
		}
		f.Team = k.Team
	}
	entries, err := t.st.ListAudit(r.Context(), f)
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if entries == nil {
		entries = []store.AuditEntry{}
	}
	if !jsonl {
		writeJSON(w, http.StatusOK, entries)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	for _, e := range entries {
		_ = enc.Encode(e)
	}
}

// parseAuditQuery reads GET /audit's query.
func parseAuditQuery(r *http.Request, now time.Time) (store.AuditFilter, bool, error) {
	q := r.URL.Query()
	var f store.AuditFilter
	if s := q.Get("since"); s != "" {
		if d, err := time.ParseDuration(s); err == nil && d >= 0 {
			f.Since = now.Add(-d)
		} else if t, err := time.Parse(time.RFC3339, s); err == nil {
			f.Since = t
		} else {
			return f, false, fmt.Errorf("since %q: want an RFC 3339 time or a duration such as 24h: %w", s, errdefs.ErrInvalidArgument)
		}
	}
	if s := q.Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return f, false, fmt.Errorf("after %q: want an entry id: %w", s, errdefs.ErrInvalidArgument)
		}
		f.AfterID = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return f, false, fmt.Errorf("limit %q: use 1 to 1000: %w", s, errdefs.ErrInvalidArgument)
		}
		f.Limit = n
	}
	f.Team = q.Get("team")
	switch q.Get("format") {
	case "", "json":
		return f, false, nil
	case "jsonl":
		return f, true, nil
	}
	return f, false, fmt.Errorf("format %q: want json or jsonl: %w", q.Get("format"), errdefs.ErrInvalidArgument)
}

// verifyJSON is GET /audit/verify's answer.
type verifyJSON struct {
	OK bool `json:"ok"`
	audit.Result
}

// verifyAudit is GET /audit/verify (server admins): the hash chain
// checked from its anchor to its head, answered with the head's ID and
// hash for the operator to record elsewhere; ?expectHead=ID:hash also
// checks that a head recorded earlier is still in the log.
func (t *Teams) verifyAudit(w http.ResponseWriter, r *http.Request) {
	if t.audit == nil {
		t.api.writeError(w, r, fmt.Errorf("this server keeps no audit log: %w", errdefs.ErrFailedPrecondition))
		return
	}
	res, err := t.audit.Verify(r.Context())
	if err != nil {
		t.api.writeError(w, r, err)
		return
	}
	if head := r.URL.Query().Get("expectHead"); head != "" && res.OK() {
		if res.Problem, err = audit.ExpectHead(r.Context(), t.st, res, head); err != nil {
			t.api.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, verifyJSON{OK: res.OK(), Result: res})
}
