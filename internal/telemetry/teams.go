package telemetry

import (
	"context"
	"log/slog"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/soulbox/soulbox/internal/logx"
	"github.com/soulbox/soulbox/internal/store"
)

// OtherTeams is the team label of the teams past MaxTeamLabels.
const OtherTeams = "other"

// MaxTeamLabels is how many teams keep their own label in the per-team
// metrics: the ones with the most live sandboxes. Teams are made by the
// operator (an admin key creates every key and names its team), so their
// number is the operator's to bound; this cap keeps a scrape bounded on a
// host that serves many, folding the rest into OtherTeams.
const MaxTeamLabels = 50

type teamCollector struct {
	store                   store.Store
	log                     *slog.Logger
	sandboxes, cpus, memory *prometheus.Desc
}

// TeamCollector serves each team's live sandboxes by state and the CPUs
// and memory its running and starting sandboxes were given, read from s
// at scrape time, for the MaxTeamLabels teams with the most live
// sandboxes (the rest as OtherTeams). A team without live sandboxes has
// no series.
func TeamCollector(s store.Store, log *slog.Logger) prometheus.Collector {
	return &teamCollector{store: s, log: log,
		sandboxes: prometheus.NewDesc("soulbox_team_sandboxes", "Live sandboxes of a team by state.", []string{"team", "state"}, nil),
		cpus:      prometheus.NewDesc("soulbox_team_sandbox_cpus", "CPUs given to a team's running and starting sandboxes.", []string{"team"}, nil),
		memory:    prometheus.NewDesc("soulbox_team_sandbox_memory_bytes", "Memory given to a team's running and starting sandboxes.", []string{"team"}, nil),
	}
}

func (c *teamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.sandboxes
	ch <- c.cpus
	ch <- c.memory
}

type teamUsage struct {
	live   int
	states map[store.SandboxState]int
	cpus   int
	memory uint64
}

func (c *teamCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeDeadline)
	defer cancel()
	live, err := c.store.ListSandboxes(ctx, store.SandboxFilter{States: liveStates})
	if err != nil {
		c.log.Error("metrics: list sandboxes by team", logx.Err(err))
		ch <- prometheus.NewInvalidMetric(c.sandboxes, err)
		return
	}
	by := map[string]*teamUsage{}
	for _, sb := range live {
		u := by[sb.ClientID]
		if u == nil {
			u = &teamUsage{states: map[store.SandboxState]int{}}
			by[sb.ClientID] = u
		}
		u.live++
		u.states[sb.State]++
		if sb.State != store.StatePaused {
			u.cpus += sb.CPUCount
			u.memory += uint64(sb.MemoryMB) << 20
		}
	}
	teams := make([]string, 0, len(by))
	for t := range by {
		teams = append(teams, t)
	}
	sort.Slice(teams, func(i, j int) bool {
		if by[teams[i]].live != by[teams[j]].live {
			return by[teams[i]].live > by[teams[j]].live
		}
		return teams[i] < teams[j]
	})
	if len(teams) > MaxTeamLabels {
		// The rest, and a team that is itself called "other", are one
		// series.
		other := &teamUsage{states: map[store.SandboxState]int{}}
		var kept []string
		for i, t := range teams {
			if i < MaxTeamLabels && t != OtherTeams {
				kept = append(kept, t)
				continue
			}
			u := by[t]
			for st, n := range u.states {
				other.states[st] += n
			}
			other.cpus += u.cpus
			other.memory += u.memory
		}
		teams = append(kept, OtherTeams)
		by[OtherTeams] = other
	}
	for _, t := range teams {
		u := by[t]
		for _, st := range liveStates {
			ch <- prometheus.MustNewConstMetric(c.sandboxes, prometheus.GaugeValue, float64(u.states[st]), t, string(st))
		}
		ch <- prometheus.MustNewConstMetric(c.cpus, prometheus.GaugeValue, float64(u.cpus), t)
		ch <- prometheus.MustNewConstMetric(c.memory, prometheus.GaugeValue, float64(u.memory), t)
	}
}
