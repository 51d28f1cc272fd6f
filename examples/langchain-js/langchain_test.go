// Package langchain runs the LangChain example's node:test file against a
// real server; its npm packages come from scripts/setup.sh (npm ci).
package langchain

import (
	"os"
	"os/exec"
	"testing"

	"github.com/soulbox/soulbox/internal/server/servertest"
)

func TestLangChainTools(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed (scripts/setup.sh installs it)")
	}
	if _, err := os.Stat("node_modules/@langchain/core"); err != nil {
		t.Fatal("the example's packages are not installed: run npm ci in examples/langchain-js (scripts/setup.sh does)")
	}
	s := servertest.Start(t, nil)
	cmd := exec.Command("node", "--test", "--test-reporter=spec", "tools.test.mjs")
	cmd.Env = append(os.Environ(), "E2B_API_URL="+s.URL, "E2B_SANDBOX_URL="+s.URL, "E2B_API_KEY="+s.APIKey, "E2B_DOMAIN=localhost",
		"LANGCHAIN_TRACING_V2=false", "LANGSMITH_TRACING=false")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the LangChain example's tests failed: %v", err)
	}
}
