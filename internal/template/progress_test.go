package template

import (
	"strings"
	"testing"
)

func TestLineWriter(t *testing.T) {
	var b strings.Builder
	w := newLineWriter(&syncWriter{w: &b}, "template base: ")
	for _, s := range []string{"I: Retr", "ieving\nI: Valid", "ating\r\n\n", "progress 10%\rprogress 20%\r", "no newline"} {
		if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	w.Printf("step %d", 2)
	w.Flush()
	want := "template base: I: Retrieving\n" +
		"template base: I: Validating\n" +
		"template base: progress 10%\n" +
		"template base: progress 20%\n" +
		"template base: step 2\n" +
		"template base: no newline\n"
	if b.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", b.String(), want)
	}
	if got := w.Tail(); !strings.HasSuffix(got, "step 2 | no newline") || strings.Count(got, "|") != tailLines-1 {
		t.Errorf("Tail = %q", got)
	}
	if got := w.Tail(); got != "" {
		t.Errorf("Tail after Tail = %q; want empty", got)
	}
}
