package cli

import (
	"context"
	"fmt"
	"os/user"

	"github.com/soulbox/soulbox/internal/audit"
	"github.com/soulbox/soulbox/internal/errdefs"
	"github.com/soulbox/soulbox/internal/store"
)

// recordHost records a change made on the server's host (keys, teams,
// quotas) in the audit log, as the API records its own: action "CLI
// keys create" and the like, team the team changed, target what was
// changed, remote "host:USER". The change is made by then: a failure to
// record it is an error saying so.
func recordHost(ctx context.Context, st store.Audit, dataDir, team, action, target string) error {
	key, err := audit.LoadKey(dataDir)
	if err == nil {
		remote := "host"
		if u, uerr := user.Current(); uerr == nil {
			remote += ":" + u.Username
		}
		err = audit.New(st, key, 0, nil).Record(ctx, store.AuditEntry{Team: team, Action: "CLI " + action, Target: target,
			Remote: remote, Status: 200})
	}
	if err != nil {
		return fmt.Errorf("%s %s was done, but its audit entry could not be written: %w: %w", action, target, err, errdefs.ErrUnavailable)
	}
	return nil
}
