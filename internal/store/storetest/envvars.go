package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testEnvVars: a sandbox's environment variables come back as created
// (a boot from its filesystem hands them to a fresh agent); none is nil.
func (s *suite) testEnvVars(t *testing.T) {
	st := s.open(t)
	withEnv := sandbox("env-set")
	withEnv.EnvVars = map[string]string{"API_KEY": "s3cr=t", "EMPTY": "", "UNICODE": "žluťoučký 🐴", "Q": `"'`}
	mustCreate(t, st, withEnv)
	if diff := cmp.Diff(withEnv.EnvVars, mustGet(t, st, withEnv.ID).EnvVars); diff != "" {
		t.Errorf("env vars after create (-want +got):\n%s", diff)
	}
	none := sandbox("env-none")
	none.EnvVars = map[string]string{}
	mustCreate(t, st, none)
	if got := mustGet(t, st, none.ID).EnvVars; got != nil {
		t.Errorf("no env vars came back as %#v, want nil", got)
	}
}
