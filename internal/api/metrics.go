package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

func (a *API) metrics(w http.ResponseWriter, r *http.Request) {
	start, end, err := parseMetricsRange(r.URL.RawQuery)
	if err == nil {
		_, err = a.owned(r)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
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

// parseMetricsRange reads ?start=&end= in unix seconds (each optional:
// zero times are unbounded); start after end is refused.
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
	if s >= 0 {
		start = time.Unix(s, 0)
	}
	if e >= 0 {
		end = time.Unix(e, 0)
	}
	return start, end, nil
}

// metricsMany is GET /sandboxes/metrics?sandbox_ids=a,b: the latest
// sample of each of the team's sandboxes named.
func (a *API) metricsMany(w http.ResponseWriter, r *http.Request) {
	ids, err := parseSandboxIDs(r.URL.RawQuery)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := map[string]metricJSON{}
	for _, id := range ids {
		sb, err := a.lc.Get(r.Context(), id)
		if err != nil || sb.ClientID != a.team(r) {
			continue
		}
		if ms, err := a.lc.Metrics(r.Context(), id, time.Time{}, time.Time{}); err == nil && len(ms) > 0 {
			out[id] = toMetric(ms[len(ms)-1])
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sandboxes": out})
}

// maxMetricsIDs is how many sandboxes one GET /sandboxes/metrics names at
// most, as in E2B.
const maxMetricsIDs = 100

// parseSandboxIDs reads ?sandbox_ids=a,b (empty entries skipped).
func parseSandboxIDs(raw string) ([]string, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("query string: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	var ids []string
	for _, id := range strings.Split(q.Get("sandbox_ids"), ",") {
		if id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) > maxMetricsIDs {
		return nil, fmt.Errorf("sandbox_ids names %d sandboxes: use at most %d: %w", len(ids), maxMetricsIDs, errdefs.ErrInvalidArgument)
	}
	return ids, nil
}
