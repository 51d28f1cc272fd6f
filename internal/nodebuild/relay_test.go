package nodebuild

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/builder"
	"github.com/soulbox/soulbox/internal/scheduler"
)

// floodNode is a node's build service that floods the log: lines past
// any bound, and more of them than a build's log keeps, then either
// fails with an oversized failure or is lost.
type floodNode struct {
	lines int
	lost  bool
}

func (f floodNode) Build(_ context.Context, _ Request, log builder.Log) (Outcome, error) {
	long := strings.Repeat("x", 4*MaxLogLine)
	for i := range f.lines {
		log("info", "RUN-"+string(rune('a'+i%3)), long)
	}
	if f.lost {
		return Outcome{}, errors.New("stream reset")
	}
	tail := make([]string, 1000)
	for i := range tail {
		tail[i] = long
	}
	return Outcome{Failure: &Failure{Step: "RUN", ExitCode: 1, Tail: tail, Message: long}}, nil
}

func floodBuilder(n floodNode) *Builder {
	return New(Config{
		Place: func(context.Context, scheduler.Request) (string, error) { return "n1", nil },
		Node:  func(context.Context, string) (Runner, error) { return n, nil },
	})
}

// TestBuildLogBounded: a node that floods its build log gets no more
// than MaxLogBytes of it into the build's log, each line cut at
// MaxLogLine and one line saying the rest was dropped; its failure
// keeps only the last lines, each cut too; and a node lost after the
// flood still fails the build at the last step it named.
func TestBuildLogBounded(t *testing.T) {
	ctx := context.Background()
	var got, warned, total int
	log := func(level, step, message string) {
		got++
		total += len(step) + len(message)
		if len(message) > MaxLogLine+len(" [cut]") {
			t.Fatalf("a line of %d bytes reached the log", len(message))
		}
		if level == "warn" && strings.Contains(message, "not kept") {
			warned++
		}
	}
	lines := MaxLogBytes/MaxLogLine + 100
	_, err := floodBuilder(floodNode{lines: lines}).Build(ctx, builder.Request{ID: "b1", Base: builder.Base{Image: "alpine"}}, log)
	if total > MaxLogBytes+1024 {
		t.Errorf("%d bytes of the node's log reached the build's log, want at most %d", total, MaxLogBytes)
	}
	if warned != 1 || got >= lines {
		t.Errorf("%d of %d lines logged, %d saying the rest is dropped; want fewer, and one", got, lines, warned)
	}
	var se *builder.StepError
	if !errors.As(err, &se) || se.Step != "RUN" || se.ExitCode != 1 {
		t.Fatalf("build error = %v, want the node's failure of step RUN", err)
	}
	if len(se.Tail) != maxTail || len(se.Tail[0]) > MaxLogLine+len(" [cut]") || len(se.Err.Error()) > MaxLogLine+len(" [cut]") {
		t.Errorf("failure kept %d tail lines (first %d bytes), message %d bytes; want %d lines, each cut", len(se.Tail), len(se.Tail[0]), len(se.Err.Error()), maxTail)
	}

	_, err = floodBuilder(floodNode{lines: lines, lost: true}).Build(ctx, builder.Request{ID: "b2", Base: builder.Base{Image: "alpine"}}, func(string, string, string) {})
	want := "RUN-" + string(rune('a'+(lines-1)%3))
	if !errors.As(err, &se) || se.Step != want {
		t.Errorf("lost node's build error = %v (step %q), want step %q", err, se.Step, want)
	}
}
