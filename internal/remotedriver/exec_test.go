package remotedriver_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/nodeservice"
	"github.com/soulbox/soulbox/internal/runtime"
)

// An exec's two outputs, each as large as allowed, come back whole; more
// is refused as a precondition, not as a busy node to retry.
func TestExecOutputsAtTheirBound(t *testing.T) {
	h := newHost()
	size := nodeservice.MaxMessageBytes
	h.execOut = func(req runtime.ExecRequest) int {
		req.Stdout.Write(bytes.Repeat([]byte("o"), size))
		req.Stderr.Write(bytes.Repeat([]byte("e"), nodeservice.MaxMessageBytes))
		return 3
	}
	d := startNode(t, h)
	var out, errb bytes.Buffer
	res, err := d.Exec(context.Background(), "sb", runtime.ExecRequest{Args: []string{"x"}, Stdout: &out, Stderr: &errb})
	if err != nil || res.ExitCode != 3 || out.Len() != size || errb.Len() != size {
		t.Fatalf("exec: %v, exit %d, %d and %d bytes; want exit 3 and %d bytes each", err, res.ExitCode, out.Len(), errb.Len(), size)
	}
	size++
	_, err = d.Exec(context.Background(), "sb", runtime.ExecRequest{Args: []string{"x"}, Stdout: &out, Stderr: &errb})
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || errors.Is(err, errdefs.ErrResourceExhausted) || !strings.Contains(err.Error(), "output") {
		t.Fatalf("too much output: %v; want a precondition failure naming the output", err)
	}
}
