package telemetry

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/store"
)

// liveStates are the states soulbox_sandboxes counts.
var liveStates = store.LiveStates

// scrapeDeadline bounds the store read of one scrape.
const scrapeDeadline = 5 * time.Second

type sandboxCollector struct {
	store store.Store
	log   *slog.Logger
	desc  *prometheus.Desc
}

// SandboxCollector serves soulbox_sandboxes: the live sandboxes of every
// team by state, read from s at scrape time. A failed read is reported
// to the scraper as an invalid metric, so the scrape fails visibly.
func SandboxCollector(s store.Store, log *slog.Logger) prometheus.Collector {
	return &sandboxCollector{store: s, log: log, desc: prometheus.NewDesc(
		"soulbox_sandboxes", "Sandboxes of every team by state.", []string{"state"}, nil)}
}

func (c *sandboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *sandboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeDeadline)
	defer cancel()
	live, err := c.store.ListSandboxes(ctx, store.SandboxFilter{States: liveStates})
	if err != nil {
		c.log.Error("metrics: list sandboxes", logx.Err(err))
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	count := map[store.SandboxState]int{}
	for _, sb := range live {
		count[sb.State]++
	}
	for _, st := range liveStates {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(count[st]), string(st))
	}
}
