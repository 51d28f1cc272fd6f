package soulbox_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

func TestRunCode(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t, newClient(t), soulbox.CreateOptions{})

	t.Run("StateAndStreams", func(t *testing.T) {
		if _, err := sb.RunCode(ctx, "x = 20", nil); err != nil {
			t.Fatal(err)
		}
		var streamed []string
		ex, err := sb.RunCode(ctx, "print('side'); x * 2 + 2", &soulbox.RunCodeOptions{OnStdout: func(s string) { streamed = append(streamed, s) }})
		if err != nil {
			t.Fatal(err)
		}
		if ex.Text() != "42" || strings.Join(ex.Stdout, "") != "side\n" || strings.Join(streamed, "") != "side\n" || ex.Error != nil {
			t.Errorf("execution = %+v", ex)
		}
	})

	t.Run("Exception", func(t *testing.T) {
		ex, err := sb.RunCode(ctx, "1/0", nil)
		if err != nil {
			t.Fatal(err)
		}
		if ex.Error == nil || ex.Error.Name != "ZeroDivisionError" || !strings.Contains(ex.Error.Traceback, "1/0") {
			t.Errorf("error = %+v", ex.Error)
		}
	})

	t.Run("Chart", func(t *testing.T) {
		ex, err := sb.RunCode(ctx, `
import matplotlib.pyplot as plt
plt.plot([1, 2, 3], [1, 4, 9])
plt.title("squares")
plt.show()`, nil)
		if err != nil {
			t.Fatal(err)
		}
		var png []byte
		var chart *soulbox.Chart
		for _, r := range ex.Results {
			if p, _ := r.PNG(); p != nil {
				png = p
				chart = r.Chart
			}
		}
		if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("no PNG among the results %+v (error %+v)", ex.Results, ex.Error)
		}
		if chart == nil || chart.Title != "squares" || chart.Type != "line" || len(chart.Raw) == 0 {
			t.Errorf("chart = %+v", chart)
		}
	})

	t.Run("Contexts", func(t *testing.T) {
		js, err := sb.CreateCodeContext(ctx, &soulbox.CodeContextOptions{Language: "javascript"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sb.RunCode(ctx, "let y = 5", &soulbox.RunCodeOptions{Context: js}); err != nil {
			t.Fatal(err)
		}
		ex, err := sb.RunCode(ctx, "y * 3", &soulbox.RunCodeOptions{Context: js})
		if err != nil || ex.Text() != "15" {
			t.Errorf("javascript context: %+v, %v", ex, err)
		}
		list, err := sb.ListCodeContexts(ctx)
		if err != nil || len(list) < 2 {
			t.Errorf("ListCodeContexts = %+v, %v", list, err)
		}
		if err := sb.RemoveCodeContext(ctx, js); err != nil {
			t.Fatal(err)
		}
		if _, err := sb.RunCode(ctx, "1", &soulbox.RunCodeOptions{Context: js}); !errors.Is(err, soulbox.ErrNotFound) {
			t.Errorf("RunCode in a removed context = %v, want ErrNotFound", err)
		}
		if _, err := sb.RunCode(ctx, "1", &soulbox.RunCodeOptions{Context: js, Language: "python"}); !errors.Is(err, soulbox.ErrInvalidArgument) {
			t.Errorf("Language and Context = %v", err)
		}
	})

	t.Run("CancelInterrupts", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := sb.RunCode(cctx, "import time\nfor i in range(600):\n    time.sleep(0.1)\n    x = i", nil)
		if !errors.Is(err, soulbox.ErrTimeout) {
			t.Errorf("RunCode past its deadline = %v, want ErrTimeout", err)
		}
		// The interrupt stopped the loop early and kept the state.
		time.Sleep(500 * time.Millisecond)
		ex, err := sb.RunCode(ctx, "x", nil)
		if err != nil || ex.Text() == "" || ex.Text() == "599" {
			t.Errorf("after the interrupt x = %q, %v; want a value below 599", ex.Text(), err)
		}
	})
}
