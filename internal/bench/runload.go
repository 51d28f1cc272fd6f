package bench

import "context"

// measureRunLoad sends only commands.run('echo hi'), as the E2B SDKs run
// it (a login bash started over the agent's process Start stream through
// the proxy), across APISandboxes sandboxes at APIRate runs per second
// for APIDuration, open loop like the API load: what a fleet of agents
// each running commands in its own sandbox asks of one server.
func measureRunLoad(ctx context.Context, r *runner) error {
	load, err := r.openLoop(ctx, RunLoadName, []string{LoadRunLogin})
	if load != nil {
		r.rep.RunLoad = load
	}
	return err
}
