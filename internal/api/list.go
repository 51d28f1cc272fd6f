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

// listV1 is the old GET /sandboxes: the team's running sandboxes.
func (a *API) listV1(w http.ResponseWriter, r *http.Request) {
	q, err := query(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	md, err := parseMetadata(q.Get("metadata"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	sbs, err := a.teamSandboxes(r, store.SandboxFilter{States: []store.SandboxState{store.StateStarting, store.StateRunning}, Metadata: md})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := make([]listedJSON, 0, len(sbs))
	for _, sb := range sbs {
		out = append(out, toListed(sb))
	}
	writeJSON(w, http.StatusOK, out)
}

// list is GET /v2/sandboxes: filters by metadata, state and template,
// ordered by start, paginated with nextToken / X-Next-Token.
func (a *API) list(w http.ResponseWriter, r *http.Request) {
	q, err := query(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	md, err := parseMetadata(q.Get("metadata"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	states, err := parseStates(q.Get("state"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	limit := 100
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 100 {
			a.writeError(w, r, fmt.Errorf("limit %q: use 1 to 100: %w", s, errdefs.ErrInvalidArgument))
			return
		}
	}
	desc := false
	switch q.Get("order") {
	case "", "asc":
	case "desc":
		desc = true
	default:
		a.writeError(w, r, fmt.Errorf("order %q: use asc or desc: %w", q.Get("order"), errdefs.ErrInvalidArgument))
		return
	}
	var after time.Time
	if s := q.Get("startedAfter"); s != "" {
		if after, err = time.Parse(time.RFC3339, s); err != nil {
			a.writeError(w, r, fmt.Errorf("startedAfter %q: use RFC 3339: %w", s, errdefs.ErrInvalidArgument))
			return
		}
	}
	cursor, err := parseToken(q.Get("nextToken"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	sbs, err := a.teamSandboxes(r, store.SandboxFilter{States: states, Metadata: md, TemplateID: q.Get("template")})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if desc {
		slices.Reverse(sbs)
	}
	var page []listedJSON
	var last store.Sandbox
	next := ""
	for _, sb := range sbs {
		if !after.IsZero() && !sb.CreatedAt.After(after) {
			continue
		}
		if cursor != nil && !cursor.before(sb, desc) {
			continue
		}
		if len(page) == limit {
			next = makeToken(last.ID, last.CreatedAt)
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

// team_ lists the sandboxes of the request's team.
func (a *API) teamSandboxes(r *http.Request, f store.SandboxFilter) ([]store.Sandbox, error) {
	all, err := a.lc.List(r.Context(), f)
	if err != nil {
		return nil, err
	}
	team := a.team(r)
	out := all[:0]
	for _, sb := range all {
		if sb.ClientID == team {
			out = append(out, sb)
		}
	}
	return out, nil
}

// query parses the query string strictly: a malformed one is the
// client's mistake, not an empty filter.
func query(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("query string: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	return q, nil
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

// parseStates reads "running,paused"; absent means both.
func parseStates(raw string) ([]store.SandboxState, error) {
	if raw == "" {
		return []store.SandboxState{store.StateStarting, store.StateRunning, store.StatePaused}, nil
	}
	var out []store.SandboxState
	for _, s := range strings.Split(raw, ",") {
		switch strings.TrimSpace(s) {
		case "running":
			out = append(out, store.StateStarting, store.StateRunning)
		case "paused":
			out = append(out, store.StatePaused)
		default:
			return nil, fmt.Errorf("state %q: use running, paused or both separated by a comma: %w", s, errdefs.ErrInvalidArgument)
		}
	}
	return out, nil
}

// cursor is the position after which a page starts.
type cursor struct {
	created time.Time
	id      string
}

// before reports whether sb comes after the cursor in the list's order.
func (c *cursor) before(sb store.Sandbox, desc bool) bool {
	if desc {
		return sb.CreatedAt.Before(c.created) || (sb.CreatedAt.Equal(c.created) && sb.ID < c.id)
	}
	return sb.CreatedAt.After(c.created) || (sb.CreatedAt.Equal(c.created) && sb.ID > c.id)
}

func makeToken(id string, created time.Time) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(created.UnixNano(), 10) + ":" + id))
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
	return &cursor{created: time.Unix(0, n).UTC(), id: id}, nil
}
