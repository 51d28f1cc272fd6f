package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// testFinishWhileDeleting: a build that finishes while its template is
// deleted (a cancelled build records its end as the delete runs) never
// makes the delete fail: the delete succeeds, and the finish either
// lands before it or is refused as not found or no longer running.
func (s *suite) testFinishWhileDeleting(t *testing.T) {
	ctx := context.Background()
	st := s.open(t)
	for i := range 30 {
		tpl, id := fmt.Sprintf("tfd%d", i), fmt.Sprintf("bfd%d", i)
		if err := st.CreateTemplate(ctx, store.Template{ID: tpl, Team: "a", CPUCount: 1, MemoryMB: 512}); err != nil {
			t.Fatal(err)
		}
		b := store.TemplateBuild{ID: id, TemplateID: tpl, Status: store.BuildWaiting, CPUCount: 1, MemoryMB: 512}
		if err := st.CreateBuild(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := st.StartBuild(ctx, tpl, id, "{}", at(0)); err != nil {
			t.Fatal(err)
		}
		if err := st.AppendBuildLogs(ctx, id, []store.BuildLogEntry{{Level: "info", Step: "1", Message: "running"}}); err != nil {
			t.Fatal(err)
		}
		b.Status, b.Reason = store.BuildError, "the build was cancelled"
		var wg sync.WaitGroup
		var finishErr, deleteErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := st.AppendBuildLogs(ctx, id, []store.BuildLogEntry{{Level: "error", Step: "1", Message: "cancelled"}}); err != nil && !errdefs.IsNotFound(err) {
				finishErr = err
				return
			}
			finishErr = st.FinishBuild(ctx, b, nil, at(0))
		}()
		go func() {
			defer wg.Done()
			deleteErr = st.DeleteTemplate(ctx, tpl)
		}()
		wg.Wait()
		if deleteErr != nil {
			t.Fatalf("round %d: delete of a template whose build finished meanwhile: %v", i, deleteErr)
		}
		if finishErr != nil && !errdefs.IsNotFound(finishErr) && !errdefs.IsFailedPrecondition(finishErr) {
			t.Fatalf("round %d: finish of a build whose template was deleted meanwhile: %v", i, finishErr)
		}
	}
}
