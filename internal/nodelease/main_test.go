package nodelease_test

import (
	"testing"

	"github.com/soulbox/soulbox/internal/runtime/oci/ocitest"
)

// TestMain removes the agent binary the sandbox tests build.
func TestMain(m *testing.M) { ocitest.Main(m) }
