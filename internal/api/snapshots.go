package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/soulbox/soulbox/internal/catalog"
	"github.com/soulbox/soulbox/internal/store"
)

// snapshotInfo is E2B's SnapshotInfo.
type snapshotInfo struct {
	SnapshotID string   `json:"snapshotID"`
	Names      []string `json:"names"`
}

func toSnapshotInfo(s catalog.Snapshot) snapshotInfo {
	names := s.Names
	if names == nil {
		names = []string{}
	}
	return snapshotInfo{SnapshotID: s.ID, Names: names}
}

// createSnapshot is POST /sandboxes/{id}/snapshots (E2B's
// SandboxSnapshotRequest {name?, memory?}): 201 SnapshotInfo. The
// snapshot's id or name is a create's templateID; DELETE /templates/{id}
// deletes it. memory false keeps the files only (default true).
func (a *API) createSnapshot(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name   string `json:"name"`
		Memory *bool  `json:"memory"`
	}
	err := decodeStrictBody(r.Body, &body)
	var sb store.Sandbox
	if err == nil {
		sb, err = a.owned(r)
	}
	var snap catalog.Snapshot
	if err == nil {
		snap, err = a.lc.Snapshot(r.Context(), sb.ID, body.Name, body.Memory == nil || *body.Memory)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toSnapshotInfo(snap))
}

// listSnapshots is GET /snapshots: the team's snapshots, oldest first,
// filtered by sandboxID and name, paginated with limit and nextToken /
// X-Next-Token as the sandbox list.
func (a *API) listSnapshots(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := limitBound.query(q, limitBound.max)
	var cur *cursor
	if err == nil {
		cur, err = parseToken(q.Get("nextToken"))
	}
	var all []catalog.Snapshot
	if err == nil {
		all, err = a.lc.ListSnapshots(r.Context(), a.team(r), q.Get("sandboxID"))
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	name := q.Get("name")
	page := []snapshotInfo{}
	var last catalog.Snapshot
	for _, s := range all {
		if name != "" && !slices.Contains(s.Names, name) {
			continue
		}
		if cur != nil && !afterCursor(s.CreatedAt, s.ID, cur) {
			continue
		}
		if len(page) == int(limit) {
			w.Header().Set("X-Next-Token", makeToken(last.ID, last.CreatedAt))
			break
		}
		page = append(page, toSnapshotInfo(s))
		last = s
	}
	writeJSON(w, http.StatusOK, page)
}

// afterCursor reports whether the item (at, id) comes after cur in
// ascending (time, id) order.
func afterCursor(at time.Time, id string, cur *cursor) bool {
	return at.After(cur.started) || (at.Equal(cur.started) && id > cur.id)
}
