package server

import (
	"fmt"
	"net/http"

	"github.com/soulbox/soulbox/internal/httperr"
	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/store"
)

// metrics serves, in Prometheus' text format, the live sandboxes by state
// and, when it is on, the warm pool's state (GET /health carries the
// pool's for people).
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	states := []store.SandboxState{store.StateStarting, store.StateRunning, store.StatePaused}
	live, err := s.store.ListSandboxes(r.Context(), store.SandboxFilter{States: states})
	if err != nil {
		s.log.Error("metrics: list sandboxes", logx.Err(err))
		httperr.Write(w, r, nil, err)
		return
	}
	count := map[store.SandboxState]int{}
	for _, sb := range live {
		count[sb.State]++
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprintf(w, "# HELP soulbox_sandboxes Sandboxes of every team by state.\n# TYPE soulbox_sandboxes gauge\n")
	for _, st := range states {
		fmt.Fprintf(w, "soulbox_sandboxes{state=%q} %d\n", st, count[st])
	}
	// The pool families appear once a template is pooled.
	stats := s.pool.Stats()
	if len(stats) == 0 {
		return
	}
	family := func(name, typ, help string, value func(i int) float64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		for i, st := range stats {
			fmt.Fprintf(w, "%s{template=%q} %g\n", name, st.Template, value(i))
		}
	}
	family("soulbox_pool_ready", "gauge", "Pooled sandboxes ready to be claimed.", func(i int) float64 { return float64(stats[i].Ready) })
	family("soulbox_pool_filling", "gauge", "Pooled sandboxes being made.", func(i int) float64 { return float64(stats[i].Filling) })
	family("soulbox_pool_target", "gauge", "The size the pool is steering to.", func(i int) float64 { return float64(stats[i].Target) })
	family("soulbox_pool_hits_total", "counter", "Creates served from the pool.", func(i int) float64 { return float64(stats[i].Hits) })
	family("soulbox_pool_misses_total", "counter", "Creates that found the pool empty.", func(i int) float64 { return float64(stats[i].Misses) })
	family("soulbox_pool_discarded_total", "counter", "Claimed sandboxes discarded as broken.", func(i int) float64 { return float64(stats[i].Discarded) })
	family("soulbox_pool_fill_failures_total", "counter", "Refills that failed.", func(i int) float64 { return float64(stats[i].Failures) })
	family("soulbox_pool_demand_per_second", "gauge", "Smoothed rate of creates.", func(i int) float64 { return stats[i].RatePerS })
	family("soulbox_pool_refill_seconds", "gauge", "Smoothed time to make one pooled sandbox.", func(i int) float64 { return stats[i].RefillMs / 1000 })
	family("soulbox_pool_sandbox_memory_bytes", "gauge", "Smoothed memory of one pooled sandbox.", func(i int) float64 { return stats[i].MemoryMiB * (1 << 20) })
}
