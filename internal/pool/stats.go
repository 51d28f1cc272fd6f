package pool

import "sort"

// Stats is the state of one template's pool, for /health and metrics.
type Stats struct {
	Template  string `json:"template"`
	Min       int    `json:"min"`
	Max       int    `json:"max"`
	Ready     int    `json:"ready"`
	Filling   int    `json:"filling"`
	Target    int    `json:"target"`
	Hits      uint64 `json:"hits"`
	Misses    uint64 `json:"misses"`
	Discarded uint64 `json:"discarded"`
	Failures  uint64 `json:"failures"`
	// Bare counts refills made without the prewarm, the pool having run
	// dry (pool.dryPrewarm).
	Bare      uint64  `json:"refillsWithoutPrewarm"`
	RatePerS  float64 `json:"demandPerSecond"`
	RefillMs  float64 `json:"refillMs"`
	MemoryMiB float64 `json:"memoryMiBPerSandbox"`
}

// Stats reports every template's pool, by name.
func (p *Pool) Stats() []Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Stats, 0, len(p.templates))
	for name, b := range p.templates {
		out = append(out, Stats{
			Template: name, Min: b.bounds.Min, Max: b.bounds.Max, Ready: len(b.ready), Filling: b.filling, Target: b.target,
			Hits: b.hits, Misses: b.misses, Discarded: b.discarded, Failures: b.failures, Bare: b.bare,
			RatePerS: b.rate, RefillMs: float64(b.refill.Microseconds()) / 1000, MemoryMiB: b.memMiB,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Template < out[j].Template })
	return out
}
