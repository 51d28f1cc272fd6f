package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/soulbox/soulbox/internal/store"
)

func ids(list []store.Sandbox) []string {
	out := []string{}
	for _, sb := range list {
		out = append(out, sb.ID)
	}
	return out
}

func (s *suite) testListFilters(t *testing.T) {
	st := s.open(t)
	ctx := context.Background()

	if list, err := st.ListSandboxes(ctx, store.SandboxFilter{}); err != nil || len(list) != 0 {
		t.Fatalf("list of an empty store: %v, %v; want nothing", ids(list), err)
	}

	// Created a second apart in this order, so results come in this order.
	for i, f := range []struct {
		id, template string
		state        store.SandboxState
		meta         map[string]string
	}{
		{"a", "base", store.StateStarting, map[string]string{"team": "x", "env": "prod"}},
		{"b", "base", store.StateRunning, map[string]string{"team": "x"}},
		{"c", "python", store.StatePaused, map[string]string{"team": "y", "env": "prod"}},
		{"d", "python", store.StateEnded, nil},
		{"e", "base", store.StateRunning, map[string]string{"team": "x", "env": "dev", "blank": ""}},
	} {
		sb := sandbox(f.id)
		sb.TemplateID, sb.Metadata, sb.CreatedAt = f.template, f.meta, at(time.Duration(i)*time.Second)
		sb.State = f.state
		if f.state == store.StateEnded {
			sb.State = store.StateRunning
		}
		mustCreate(t, st, sb)
		if f.state == store.StateEnded {
			if err := st.EndSandbox(ctx, sb.ID, store.ReasonTimeout, "", at(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
	}

	states := func(s ...store.SandboxState) []store.SandboxState { return s }
	for _, tc := range []struct {
		name   string
		filter store.SandboxFilter
		want   []string
	}{
		{"All", store.SandboxFilter{}, []string{"a", "b", "c", "d", "e"}},
		{"OneState", store.SandboxFilter{States: states(store.StateRunning)}, []string{"b", "e"}},
		{"States", store.SandboxFilter{States: states(store.StatePaused, store.StateRunning)}, []string{"b", "c", "e"}},
		{"Ended", store.SandboxFilter{States: states(store.StateEnded)}, []string{"d"}},
		{"NotEnded", store.SandboxFilter{States: states(store.StateStarting, store.StateRunning, store.StatePaused)},
			[]string{"a", "b", "c", "e"}},
		{"EmptyStatesIsAll", store.SandboxFilter{States: states()}, []string{"a", "b", "c", "d", "e"}},
		{"MetadataOne", store.SandboxFilter{Metadata: map[string]string{"team": "x"}}, []string{"a", "b", "e"}},
		{"MetadataAllMustMatch", store.SandboxFilter{Metadata: map[string]string{"team": "x", "env": "prod"}}, []string{"a"}},
		{"MetadataSubset", store.SandboxFilter{Metadata: map[string]string{"env": "prod"}}, []string{"a", "c"}},
		{"MetadataNoMatch", store.SandboxFilter{Metadata: map[string]string{"team": "z"}}, []string{}},
		{"MetadataValueOfOtherKey", store.SandboxFilter{Metadata: map[string]string{"team": "prod"}}, []string{}},
		{"MetadataEmptyValueNeedsKey", store.SandboxFilter{Metadata: map[string]string{"blank": ""}}, []string{"e"}},
		{"MetadataEmptyValueNotMissing", store.SandboxFilter{Metadata: map[string]string{"env": ""}}, []string{}},
		{"Template", store.SandboxFilter{TemplateID: "python"}, []string{"c", "d"}},
		{"UnknownTemplate", store.SandboxFilter{TemplateID: "ruby"}, []string{}},
		{"Combined", store.SandboxFilter{
			TemplateID: "base", States: states(store.StateRunning), Metadata: map[string]string{"team": "x"},
		}, []string{"b", "e"}},
		{"CombinedNarrow", store.SandboxFilter{
			TemplateID: "base", States: states(store.StateRunning, store.StateStarting),
			Metadata: map[string]string{"env": "prod"},
		}, []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, err := st.ListSandboxes(ctx, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, ids(list)); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			// Filters select sandboxes; they never trim their metadata.
			for _, sb := range list {
				if diff := cmp.Diff(mustGet(t, st, sb.ID), sb); diff != "" {
					t.Errorf("list entry of %s differs from get (-get +list):\n%s", sb.ID, diff)
				}
			}
		})
	}
}

func (s *suite) testListOrder(t *testing.T) {
	st := s.open(t)
	// Created in this order; CreatedAt first, ties broken by ID.
	for _, c := range []struct {
		id      string
		created time.Duration
	}{
		{"m", 2 * time.Second},
		{"z", 0},
		{"a", 2 * time.Second},
		{"b", 0},
		{"y", time.Millisecond},
		{"c", -time.Hour},
	} {
		sb := sandbox(c.id)
		sb.CreatedAt = at(c.created)
		mustCreate(t, st, sb)
	}
	list, err := st.ListSandboxes(context.Background(), store.SandboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"c", "b", "z", "y", "a", "m"}, ids(list)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}
