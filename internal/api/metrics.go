package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/soulbox/soulbox/internal/errdefs"
)

func (a *API) metrics(w http.ResponseWriter, r *http.Request) {
	start, err := unixParam(r, "start")
	var end time.Time
	if err == nil {
		end, err = unixParam(r, "end")
	}
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

// metricsMany is GET /sandboxes/metrics?sandbox_ids=a,b: the latest
// sample of each of the team's sandboxes named.
func (a *API) metricsMany(w http.ResponseWriter, r *http.Request) {
	ids := strings.Split(r.URL.Query().Get("sandbox_ids"), ",")
	out := map[string]metricJSON{}
	for _, id := range ids {
		if id == "" {
			continue
		}
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

func unixParam(r *http.Request, name string) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("%s %q: use unix seconds: %w", name, s, errdefs.ErrInvalidArgument)
	}
	return time.Unix(n, 0), nil
}
