package telemetry

import (
	"sort"
	"sync/atomic"

	"github.com/soulbox/soulbox/internal/pool"
)

// OtherTemplates is the template label of every template the operator
// did not name: teams' own templates are as many as teams make and their
// names are theirs, so they are neither a bounded label nor something an
// unauthenticated scrape or health check may list.
const OtherTemplates = "other"

// TemplateLabels is the bounded set of templates that keep their name as
// a label: the server's own and those its configuration names.
type TemplateLabels struct {
	named func(template string) bool
}

// NewTemplateLabels returns labels that keep the templates named says
// the operator named (a set bounded by the configuration).
func NewTemplateLabels(named func(template string) bool) *TemplateLabels {
	return &TemplateLabels{named: named}
}

// Label is the template's label: its name if named, else OtherTemplates.
// A nil TemplateLabels names none.
func (l *TemplateLabels) Label(template string) string {
	if l != nil && l.named != nil && l.named(template) {
		return template
	}
	return OtherTemplates
}

// FoldPoolStats merges the pools of templates with the same label into
// one entry under that label, in label order: counts and rates add up;
// the refill time and memory per sandbox are the largest.
func (l *TemplateLabels) FoldPoolStats(stats []pool.Stats) []pool.Stats {
	by := map[string]*pool.Stats{}
	for _, s := range stats {
		label := l.Label(s.Template)
		f := by[label]
		if f == nil {
			f = &pool.Stats{Template: label}
			by[label] = f
		}
		f.Min += s.Min
		f.Max += s.Max
		f.Ready += s.Ready
		f.Filling += s.Filling
		f.Target += s.Target
		f.Hits += s.Hits
		f.Misses += s.Misses
		f.Discarded += s.Discarded
		f.Failures += s.Failures
		f.Bare += s.Bare
		f.RatePerS += s.RatePerS
		f.RefillMs = max(f.RefillMs, s.RefillMs)
		f.MemoryMiB = max(f.MemoryMiB, s.MemoryMiB)
	}
	out := make([]pool.Stats, 0, len(by))
	for _, f := range by {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Template < out[j].Template })
	return out
}

// templateLabels holds a Metrics' labels; nil until BoundTemplates.
type templateLabels struct {
	p atomic.Pointer[TemplateLabels]
}

// BoundTemplates sets which templates keep their name as the template
// label of the create, claim and pool metrics; every other is
// OtherTemplates. Until it is called every template is OtherTemplates.
func (m *Metrics) BoundTemplates(l *TemplateLabels) {
	if m != nil {
		m.templates.p.Store(l)
	}
}

func (m *Metrics) templateLabel(name string) string {
	return m.templates.p.Load().Label(name)
}
