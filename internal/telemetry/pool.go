package telemetry

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/soulbox/soulbox/internal/pool"
)

// Pool is the warm pool as creates use it.
type Pool interface {
	Pooled(template string) bool
	Claim(template string) (string, bool)
	Discard(ctx context.Context, template, id string, reason error)
}

// Pool wraps p to time claims by template and result.
func (m *Metrics) Pool(p Pool) Pool {
	if m == nil {
		return p
	}
	return &timedPool{Pool: p, m: m}
}

type timedPool struct {
	Pool
	m *Metrics
}

func (p *timedPool) Claim(template string) (string, bool) {
	start := time.Now()
	id, ok := p.Pool.Claim(template)
	res := "miss"
	if ok {
		res = "hit"
	}
	p.m.claimDuration.WithLabelValues(p.m.templateLabel(template), res).Observe(time.Since(start).Seconds())
	return id, ok
}

// PoolStats reads every pooled template's state at scrape time.
type PoolStats func() []pool.Stats

// poolCollector serves the pool's own figures, per template label.
type poolCollector struct {
	stats  PoolStats
	labels func() *TemplateLabels
	descs  []poolDesc
}

type poolDesc struct {
	desc  *prometheus.Desc
	typ   prometheus.ValueType
	value func(pool.Stats) float64
}

// PoolCollector serves the warm pool's figures per template label (see
// BoundTemplates; the pools of other templates folded into one): ready,
// filling, target, hits, misses, discarded, failed refills, demand,
// refill time and memory per pooled sandbox.
func (m *Metrics) PoolCollector(stats PoolStats) prometheus.Collector {
	c := PoolCollector(stats).(*poolCollector)
	if m == nil {
		return c
	}
	c.labels = m.templates.p.Load
	return c
}

// PoolCollector serves the warm pool's figures by template name, every
// name as it is: for a pool whose templates are all the operator's.
func PoolCollector(stats PoolStats) prometheus.Collector {
	d := func(name, help string, typ prometheus.ValueType, v func(pool.Stats) float64) poolDesc {
		return poolDesc{prometheus.NewDesc(name, help, []string{"template"}, nil), typ, v}
	}
	g, c := prometheus.GaugeValue, prometheus.CounterValue
	return &poolCollector{stats: stats, descs: []poolDesc{
		d("soulbox_pool_ready", "Pooled sandboxes ready to be claimed.", g, func(s pool.Stats) float64 { return float64(s.Ready) }),
		d("soulbox_pool_filling", "Pooled sandboxes being made.", g, func(s pool.Stats) float64 { return float64(s.Filling) }),
		d("soulbox_pool_target", "The size the pool is steering to.", g, func(s pool.Stats) float64 { return float64(s.Target) }),
		d("soulbox_pool_hits_total", "Creates served from the pool.", c, func(s pool.Stats) float64 { return float64(s.Hits) }),
		d("soulbox_pool_misses_total", "Creates that found the pool empty.", c, func(s pool.Stats) float64 { return float64(s.Misses) }),
		d("soulbox_pool_discarded_total", "Claimed sandboxes discarded as broken.", c, func(s pool.Stats) float64 { return float64(s.Discarded) }),
		d("soulbox_pool_fill_failures_total", "Refills that failed.", c, func(s pool.Stats) float64 { return float64(s.Failures) }),
		d("soulbox_pool_bare_refills_total", "Refills made without the prewarm, the pool having run dry.", c, func(s pool.Stats) float64 { return float64(s.Bare) }),
		d("soulbox_pool_demand_per_second", "Smoothed rate of creates.", g, func(s pool.Stats) float64 { return s.RatePerS }),
		d("soulbox_pool_refill_seconds", "Smoothed time to make one pooled sandbox.", g, func(s pool.Stats) float64 { return s.RefillMs / 1000 }),
		d("soulbox_pool_sandbox_memory_bytes", "Smoothed memory of one pooled sandbox.", g, func(s pool.Stats) float64 { return s.MemoryMiB * (1 << 20) }),
	}}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d.desc
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	stats := c.stats()
	if c.labels != nil {
		stats = c.labels().FoldPoolStats(stats)
	}
	for _, st := range stats {
		for _, d := range c.descs {
			ch <- prometheus.MustNewConstMetric(d.desc, d.typ, d.value(st), st.Template)
		}
	}
}
