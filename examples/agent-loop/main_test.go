package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/server/servertest"
	"github.com/soulbox/soulbox/sdk/go/soulbox"
)

func TestExample(t *testing.T) {
	s := servertest.Start(t, nil)
	c, err := soulbox.New(soulbox.Options{APIURL: s.URL, APIKey: s.APIKey, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	answer, err := run(context.Background(), c, scripted(), "sum 1..100", &log)
	if err != nil {
		t.Fatal(err)
	}
	if answer != "Done. report.md says: The sum of 1..100 is 5050." {
		t.Errorf("answer %q\nlog:\n%s", answer, log.String())
	}
	if !strings.Contains(log.String(), "<- error: argument code: want a string") {
		t.Errorf("the bad call's error is not in the log:\n%s", log.String())
	}
	// The conversation's sandbox went with it.
	for info, err := range c.List(context.Background(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("sandbox %s left after the loop", info.SandboxID)
	}
}
