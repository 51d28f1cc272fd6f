// Package telemetry defines the server's Prometheus metrics and the
// wrappers that record them around the shared parts: HTTP handlers, the
// sandbox-traffic proxy, the runtime driver, the store and the warm pool.
// Every metric is defined here, so its name, unit and labels are in one
// place; labels take only bounded values (routes, status codes, template
// names, reasons), never a sandbox id.
package telemetry

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"
)

// Metrics holds the server's collectors and the registry they are served
// from. A nil *Metrics records nothing, so a wrapper built without one
// costs a pointer check.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec

	proxyRequests *prometheus.CounterVec
	proxyDuration *prometheus.HistogramVec
	proxyBytes    *prometheus.CounterVec

	createDuration *prometheus.HistogramVec
	claimDuration  *prometheus.HistogramVec
	ends           *prometheus.CounterVec

	storeDuration   *prometheus.HistogramVec
	runtimeDuration *prometheus.HistogramVec
	buildDuration   *prometheus.HistogramVec

	// tracer records spans once StartTracing has set it; nil: no spans.
	tracer trace.Tracer
	// templates bounds the template label (see BoundTemplates).
	templates templateLabels
}

// latencyBuckets span a warm create's milliseconds to a cold template's
// tens of seconds, in seconds.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// storeBuckets are finer: a store operation is sub-millisecond to tens of
// milliseconds.
var storeBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}

// buildBuckets span a cached build's second to a long image pull's half
// hour.
var buildBuckets = []float64{1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800}

// New returns Metrics registered with a fresh registry, with the Go
// runtime and process collectors on.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "soulbox_http_requests_total",
			Help: "API requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "soulbox_http_request_duration_seconds", Buckets: latencyBuckets,
			Help: "Time to answer an API request, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		proxyRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "soulbox_proxy_requests_total",
			Help: "Sandbox-traffic requests proxied, by target (agent, interpreter, port) and status code.",
		}, []string{"target", "code"}),
		proxyDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "soulbox_proxy_request_duration_seconds", Buckets: latencyBuckets,
			Help: "Time to the end of a proxied sandbox-traffic request, by target and status code.",
		}, []string{"target", "code"}),
		proxyBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "soulbox_proxy_bytes_total",
			Help: "Bytes of proxied sandbox traffic, by target, direction (in: to the sandbox, out: to the client) and status code.",
		}, []string{"target", "direction", "code"}),
		createDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "soulbox_sandbox_create_duration_seconds", Buckets: latencyBuckets,
			Help: "Time to create a sandbox through the API, by template and start (warm: from the pool, cold: made for the request).",
		}, []string{"template", "start"}),
		claimDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "soulbox_pool_claim_duration_seconds", Buckets: storeBuckets,
			Help: "Time to claim a sandbox from the warm pool, by template and result (hit, miss).",
		}, []string{"template", "result"}),
		ends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "soulbox_sandbox_ends_total",
			Help: "Sandboxes ended, by reason (killed, timeout, oom, error, lost).",
		}, []string{"reason"}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "soulbox_store_operation_duration_seconds", Buckets: storeBuckets,
			Help: "Time of a store operation, by operation and result (ok, error).",
		}, []string{"operation", "result"}),
		runtimeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "soulbox_runtime_call_duration_seconds", Buckets: latencyBuckets,
			Help: "Time of a runtime driver call, by call and result (ok, error).",
		}, []string{"call", "result"}),
		buildDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "soulbox_template_build_duration_seconds", Buckets: buildBuckets,
			Help: "Time of a template build, by outcome (ready, error, canceled).",
		}, []string{"outcome"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration,
		m.proxyRequests, m.proxyDuration, m.proxyBytes,
		m.createDuration, m.claimDuration, m.ends,
		m.storeDuration, m.runtimeDuration, m.buildDuration,
	)
	return m
}

// Register adds collectors that read their values at scrape time (the
// pool's and the store's gauges); on a nil *Metrics it does nothing.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	if m == nil {
		return nil
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Handler serves every metric in Prometheus' exposition format, in the
// text or protobuf encoding the scraper asks for.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// result is the label of an outcome.
func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}
