package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/soulbox/soulbox/internal/store"
)

// mixed are ids, names and tags whose order differs between a bytewise
// comparison (SQLite's, and the contract's) and a linguistic collation,
// which ignores case and punctuation at first.
var mixed = []string{"a-c", "B", "ab", "_x", "a", "Z9", "a.b", "A"}

// testTextOrder: lists ordered by a text come back in bytewise order on
// every backend, whatever the database's collation.
func (s *suite) testTextOrder(t *testing.T) {
	st, ctx := s.open(t), context.Background()
	want := slices.Clone(mixed)
	slices.Sort(want) // bytewise

	check := func(what string, got []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s in order %q, want bytewise %q", what, got, want)
		}
	}

	if err := st.CreateTemplate(ctx, newTemplate("tpl-order")); err != nil {
		t.Fatal(err)
	}
	b := newBuild("tpl-order", "b-order")
	if err := st.CreateBuild(ctx, b); err != nil {
		t.Fatal(err)
	}
	b.Status = store.BuildReady
	if err := st.FinishBuild(ctx, b, mixed, at(0)); err != nil {
		t.Fatal(err)
	}
	tags, err := st.ListTags(ctx, "tpl-order")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tag := range tags {
		got = append(got, tag.Tag)
	}
	check("tags", got)

	// Equal creation times: the id decides.
	for _, id := range mixed {
		sb := sandbox("sb" + id)
		sb.CreatedAt = t0
		mustCreate(t, st, sb)
		if err := st.CreateBuild(ctx, newBuild("tpl-order", "b"+id)); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateTemplate(ctx, newTemplate("t"+id)); err != nil {
			t.Fatal(err)
		}
		k := store.APIKey{ID: "k" + id, Name: id, Prefix: "e2b_" + id, Hash: "h" + id, Team: "team-a", CreatedAt: t0}
		if err := st.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	sbs, err := st.ListSandboxes(ctx, store.SandboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, sb := range sbs {
		got = append(got, sb.ID[len("sb"):])
	}
	check("sandboxes created at once", got)

	builds, err := st.ListBuilds(ctx, "tpl-order")
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, b := range builds {
		if b.ID != "b-order" { // the tagged build above
			got = append(got, b.ID[1:])
		}
	}
	check("builds created at once", got)

	tpls, err := st.ListTemplates(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, tp := range tpls {
		if tp.ID != "tpl-order" {
			got = append(got, tp.ID[1:])
		}
	}
	check("templates created at once", got)

	keys, err := st.ListAPIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, k := range keys {
		got = append(got, k.ID[1:])
	}
	check("api keys created at once", got)
}
