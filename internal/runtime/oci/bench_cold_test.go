package oci

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/internal/runtime"
)

// BenchmarkColdPath is the breakdown of a create that misses the pool,
// measured beside its floor in the same run: every iteration creates and
// starts a sandbox from the base template, waits until its agent answers
// /health (what the server waits for before a first command), destroys
// it, and runs the raw runtime baseline (`runc run /bin/true` of the same
// template). It reports medians:
//
//	ready-ms               create until the agent answers
//	baseline-ms            the raw runtime run, same iteration
//	baseline-cpu-ms        its CPU, the runtime's and the container's
//	ready/baseline         their ratio
//	destroy-ms             the whole Destroy
//	server-cpu-ms          CPU of this process and the runtime commands it
//	                       waited for, over create+start+destroy
//	sandbox-cpu-ms         CPU charged to the sandbox's cgroup until it is
//	                       destroyed: the runtime's init and the agent's start
//	<phase>-ms, -cpu-ms    each step of Create, Start and Destroy (phases.go)
//
//	go test -run '^$' -bench ColdPath -benchtime 30x ./internal/runtime/oci/
//
// Loopback is a driver without a network manager; Network gives every
// sandbox its link, NAT and DNS as a server does (sent out of loopback).
func BenchmarkColdPath(b *testing.B) {
	b.Run("Loopback", func(b *testing.B) { benchColdPath(b, newTestDriver(b, nil)) })
	b.Run("Network", func(b *testing.B) { benchColdPath(b, newNetworkedDriver(b, "10.250.9.0/24", nil)) })
}

func benchColdPath(b *testing.B, d *Driver) {
	ctx := context.Background()
	layers, err := d.templates.Layers(ctx, "base")
	if err != nil {
		b.Fatal(err)
	}
	base, err := NewBaseline(layers[0], d.runtime, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	samples := map[string][]float64{}
	add := func(name string, v time.Duration) {
		samples[name] = append(samples[name], float64(v)/float64(time.Millisecond))
	}
	d.phases = func(phase string, wall, cpu time.Duration) {
		add(phase+"-ms", wall)
		add(phase+"-cpu-ms", cpu)
	}
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("cold%d", i)
		cpu0, start := cpuTime(), time.Now()
		if _, err := d.Create(ctx, runtime.Spec{ID: id, Template: "base"}); err != nil {
			b.Fatal(err)
		}
		if err := d.Start(ctx, id); err != nil {
			b.Fatal(err)
		}
		if err := waitAgent(ctx, d, id); err != nil {
			b.Fatal(err)
		}
		add("ready-ms", time.Since(start))
		stats, err := d.Stats(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		add("sandbox-cpu-ms", time.Duration(stats.CPUUsageNanos))
		destroyStart := time.Now()
		if err := d.Destroy(ctx, id); err != nil {
			b.Fatal(err)
		}
		add("destroy-ms", time.Since(destroyStart))
		add("server-cpu-ms", cpuTime()-cpu0)
		cpu0 = cpuTime()
		took, err := base.Run(ctx)
		if err != nil {
			b.Fatal(err)
		}
		add("baseline-ms", took)
		add("baseline-cpu-ms", cpuTime()-cpu0)
	}
	reportMedians(b, samples)
	if r, ok := medianMs(samples["ready-ms"]), len(samples["baseline-ms"]) > 0; ok {
		b.ReportMetric(r/medianMs(samples["baseline-ms"]), "ready/baseline")
	}
}

// waitAgent waits until the sandbox's agent answers /health.
func waitAgent(ctx context.Context, d *Driver, id string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := d.DialContext(ctx, id, 49983)
		if err == nil {
			_, _ = conn.Write([]byte("GET /health HTTP/1.0\r\n\r\n"))
			buf := make([]byte, 64)
			n, _ := conn.Read(buf)
			conn.Close()
			if strings.HasPrefix(string(buf[:n]), "HTTP/1.0 204") {
				return nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("agent of %s did not answer /health", id)
}

func medianMs(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// reportMedians reports the median of every sample set as a metric named
// after it.
func reportMedians(b *testing.B, samples map[string][]float64) {
	for name, v := range samples {
		b.ReportMetric(medianMs(v), name)
	}
}
