package api

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// listV1 is the old GET /sandboxes: the team's running sandboxes, newest
// first.
func (a *API) listV1(w http.ResponseWriter, r *http.Request) {
	lq, err := parseListQuery(r.URL.RawQuery)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	sbs, err := a.teamSandboxes(r, store.SandboxFilter{States: runningStates, Metadata: lq.metadata})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	sortByStart(sbs, true)
	out := make([]listedJSON, 0, len(sbs))
	for _, sb := range sbs {
		out = append(out, toListed(sb))
	}
	writeJSON(w, http.StatusOK, out)
}

// listQuery is what GET /v2/sandboxes's query asks for.
type listQuery struct {
	metadata      map[string]string
	states        []store.SandboxState
	template      string
	asc           bool // oldest first; E2B lists newest first
	after, before time.Time
	limit         int
	cursor        *cursor
}

// parseListQuery reads the list's query string strictly: a malformed one
// is the client's mistake, not an empty filter.
func parseListQuery(raw string) (lq listQuery, err error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return lq, fmt.Errorf("query string: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	if lq.metadata, err = parseMetadata(q.Get("metadata")); err != nil {
		return lq, err
	}
	if lq.states, err = parseStates(q.Get("state")); err != nil {
		return lq, err
	}
	lq.template = q.Get("template")
	limit, err := limitBound.query(q, limitBound.max)
	if err != nil {
		return lq, err
	}
	lq.limit = int(limit)
	switch q.Get("order") {
	case "", "desc":
	case "asc":
		lq.asc = true
	default:
		return lq, fmt.Errorf("order %q: use desc (newest first, the default) or asc: %w", q.Get("order"), errdefs.ErrInvalidArgument)
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"startedAfter", &lq.after}, {"startedBefore", &lq.before}} {
		if s := q.Get(p.name); s != "" {
			if *p.t, err = time.Parse(time.RFC3339Nano, s); err != nil {
				return lq, fmt.Errorf("%s %q: use an RFC 3339 time such as 2026-01-02T15:04:05Z: %w", p.name, s, errdefs.ErrInvalidArgument)
			}
		}
	}
	lq.cursor, err = parseToken(q.Get("nextToken"))
	return lq, err
}

// list is GET /v2/sandboxes: filters by metadata, state, template and
// start time (startedAfter, startedBefore: exclusive), newest start first
// (order=asc: oldest), paginated with nextToken / X-Next-Token, as E2B
// lists.
func (a *API) list(w http.ResponseWriter, r *http.Request) {
	lq, err := parseListQuery(r.URL.RawQuery)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	sbs, err := a.teamSandboxes(r, store.SandboxFilter{States: lq.states, Metadata: lq.metadata, TemplateID: lq.template})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	sortByStart(sbs, !lq.asc)
	var page []listedJSON
	var last store.Sandbox
	next := ""
	for _, sb := range sbs {
		at := startedAt(sb)
		if (!lq.after.IsZero() && !at.After(lq.after)) || (!lq.before.IsZero() && !at.Before(lq.before)) {
			continue
		}
		if lq.cursor != nil && !lq.cursor.before(sb, !lq.asc) {
			continue
		}
		if len(page) == lq.limit {
			next = makeToken(last.ID, startedAt(last))
			break
		}
		page = append(page, toListed(sb))
		last = sb
	}
	if next != "" {
		w.Header().Set("X-Next-Token", next)
	}
	if page == nil {
		page = []listedJSON{}
	}
	writeJSON(w, http.StatusOK, page)
}

// startedAt is when a sandbox started as its client sees it: when it was
// handed out (a pooled sandbox is made earlier, for nobody), or when it
// was created if it has not run yet.
func startedAt(sb store.Sandbox) time.Time {
	if sb.StartedAt.IsZero() {
		return sb.CreatedAt
	}
	return sb.StartedAt
}

// sortByStart orders sandboxes by start time, then id, newest first if
// desc.
func sortByStart(sbs []store.Sandbox, desc bool) {
	slices.SortStableFunc(sbs, func(x, y store.Sandbox) int {
		c := startedAt(x).Compare(startedAt(y))
		if c == 0 {
			c = strings.Compare(x.ID, y.ID)
		}
		if desc {
			return -c
		}
		return c
	})
}

// teamSandboxes lists the sandboxes of the request's team: the store
// selects them, so no other team's record is read.
func (a *API) teamSandboxes(r *http.Request, f store.SandboxFilter) ([]store.Sandbox, error) {
	f.Team = a.team(r)
	return a.lc.List(r.Context(), f)
}

// parseMetadata reads E2B's metadata filter: "k=v&k2=v2", URL-encoded,
// possibly more than once (the SDKs encode the whole string, then each
// pair): unescape the whole string, split, unescape each part.
func parseMetadata(raw string) (map[string]string, error) {
	if raw == "" {
		return nil, nil
	}
	whole, err := url.QueryUnescape(raw)
	if err != nil {
		return nil, fmt.Errorf("metadata filter %q: %v: %w", raw, err, errdefs.ErrInvalidArgument)
	}
	out := map[string]string{}
	for _, pair := range strings.Split(whole, "&") {
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, fmt.Errorf("metadata filter %q: want key=value pairs joined by &: %w", whole, errdefs.ErrInvalidArgument)
		}
		if k, err = url.QueryUnescape(k); err == nil {
			v, err = url.QueryUnescape(v)
		}
		if err != nil || k == "" {
			return nil, fmt.Errorf("metadata filter %q: bad pair %q: %w", whole, pair, errdefs.ErrInvalidArgument)
		}
		out[k] = v
	}
	return out, nil
}

// parseStates reads "running,paused"; absent means both. Each stands
// for the store states shown as it (state.go).
func parseStates(raw string) ([]store.SandboxState, error) {
	if raw == "" {
		return append(slices.Clone(runningStates), pausedStates...), nil
	}
	var out []store.SandboxState
	for _, s := range strings.Split(raw, ",") {
		switch strings.TrimSpace(s) {
		case "running":
			out = append(out, runningStates...)
		case "paused":
			out = append(out, pausedStates...)
		default:
			return nil, fmt.Errorf("state %q: use running, paused or both separated by a comma: %w", s, errdefs.ErrInvalidArgument)
		}
	}
	return out, nil
}

// cursor is the position after which a page starts: the start time and
// id of the last sandbox of the page before.
type cursor struct {
	started time.Time
	id      string
}

// before reports whether sb comes after the cursor in the list's order.
func (c *cursor) before(sb store.Sandbox, desc bool) bool {
	at := startedAt(sb)
	if desc {
		return at.Before(c.started) || (at.Equal(c.started) && sb.ID < c.id)
	}
	return at.After(c.started) || (at.Equal(c.started) && sb.ID > c.id)
}

func makeToken(id string, started time.Time) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(started.UnixNano(), 10) + ":" + id))
}

func parseToken(tok string) (*cursor, error) {
	if tok == "" {
		return nil, nil
	}
	bad := fmt.Errorf("nextToken %q is not one this server issued: %w", tok, errdefs.ErrInvalidArgument)
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, bad
	}
	ns, id, ok := strings.Cut(string(raw), ":")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || id == "" {
		return nil, bad
	}
	return &cursor{started: time.Unix(0, n).UTC(), id: id}, nil
}
