package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

func (a *API) metrics(w http.ResponseWriter, r *http.Request) {
	start, end, err := parseMetricsRange(r.URL.RawQuery)
	if err == nil {
		_, err = a.metricsOwned(r.Context(), r, r.PathValue("id"))
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	start = clampOpenStart(start, end, time.Now())
	ms, err := a.lc.Metrics(r.Context(), r.PathValue("id"), start, end)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := make([]metricJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, toMetric(m))
	}
	writeJSON(w, http.StatusOK, out)
}

// maxMetricsRange is the longest range one metrics request reads: the
// longest retention the history may be configured with (Config), so a
// month bounds every answer.
const maxMetricsRange = 31 * 24 * time.Hour

// clampOpenStart bounds a range that names no start, or starts more than
// maxMetricsRange before an end it does not name: it reads at most
// maxMetricsRange back from end (now when not given).
func clampOpenStart(start, end, now time.Time) time.Time {
	if end.IsZero() {
		end = now
	}
	if floor := end.Add(-maxMetricsRange); start.Before(floor) {
		return floor
	}
	return start
}

// parseMetricsRange reads ?start=&end= in unix seconds (each optional:
// zero times; see clampOpenStart for what an open range reads); start
// after end, and both given further apart than maxMetricsRange, are
// refused.
func parseMetricsRange(raw string) (start, end time.Time, err error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return start, end, fmt.Errorf("query string: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	s, err := startBound.query(q, -1)
	if err != nil {
		return start, end, err
	}
	e, err := endBound.query(q, -1)
	if err != nil {
		return start, end, err
	}
	if s >= 0 && e >= 0 && s > e {
		return start, end, fmt.Errorf("start %d is after end %d: %w", s, e, errdefs.ErrInvalidArgument)
	}
	if s >= 0 && e >= 0 && time.Duration(e-s)*time.Second > maxMetricsRange {
		return start, end, fmt.Errorf("range of %s from start %d to end %d is too long: ask for at most %d days, or leave start or end out: %w",
			time.Duration(e-s)*time.Second, s, e, maxMetricsRange/(24*time.Hour), errdefs.ErrInvalidArgument)
	}
	if s >= 0 {
		start = time.Unix(s, 0)
	}
	if e >= 0 {
		// Seconds name whole seconds: a sample taken at 12.7 s is in a
		// range that ends at 12.
		end = time.Unix(e, 0).Add(time.Second - time.Nanosecond)
	}
	return start, end, nil
}

// metricsMany is GET /sandboxes/metrics?sandbox_ids=a,b: the latest
// sample of each of the team's sandboxes named, one row read per
// sandbox. Like GET /sandboxes/{id}/metrics it answers for an ended
// sandbox while its history is kept; a sandbox that is not the team's,
// or has no sample, is left out.
func (a *API) metricsMany(w http.ResponseWriter, r *http.Request) {
	ids, err := parseSandboxIDs(r.URL.RawQuery)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := map[string]metricJSON{}
	for _, id := range ids {
		sb, err := a.metricsOwned(r.Context(), r, id)
		if err != nil {
			continue
		}
		m, ok, err := a.lc.LatestMetric(r.Context(), sb)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if ok {
			out[id] = toMetric(m)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sandboxes": out})
}

// metricsOwned returns the caller's team's sandbox id, live or ended:
// as in E2B, whose metrics are kept apart from the live sandboxes, the
// history of an ended sandbox is served while it is kept. Another
// team's sandbox is not found.
func (a *API) metricsOwned(ctx context.Context, r *http.Request, id string) (store.Sandbox, error) {
	sb, err := a.lc.Get(ctx, id)
	if err != nil {
		return sb, err
	}
	if sb.ClientID != a.team(r) {
		return sb, fmt.Errorf("sandbox %q: %w", id, errdefs.ErrNotFound)
	}
	return sb, nil
}

// maxMetricsIDs is how many sandboxes one GET /sandboxes/metrics names at
// most, as in E2B.
const maxMetricsIDs = 100

// parseSandboxIDs reads ?sandbox_ids=a,b (empty entries skipped, a
// repeated id read once); it is required, as in E2B.
func parseSandboxIDs(raw string) ([]string, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("query string: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	var ids []string
	seen := map[string]bool{}
	named := 0
	for _, v := range q["sandbox_ids"] {
		for _, id := range strings.Split(v, ",") {
			if id == "" {
				continue
			}
			named++ // counted as E2B counts them, repeats too
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("sandbox_ids is required: name the sandboxes, e.g. ?sandbox_ids=id1,id2: %w", errdefs.ErrInvalidArgument)
	}
	if named > maxMetricsIDs {
		return nil, fmt.Errorf("sandbox_ids names %d sandboxes: use at most %d: %w", named, maxMetricsIDs, errdefs.ErrInvalidArgument)
	}
	return ids, nil
}
