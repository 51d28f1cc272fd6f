// The sandbox every test file drives.
//
// Through the server (E2B_API_URL and E2B_SANDBOX_URL set, the way a user
// switches from E2B): Sandbox.create, as any SDK user would.
//
// In debug mode (E2B_DEBUG=true, the agent alone at localhost:49983): the
// harness has set an access token on the agent as the control plane does;
// with no API to ask for it, it is handed over as Sandbox.create would.
import { Sandbox } from 'e2b'

export const viaServer = process.env.E2B_DEBUG !== 'true'

export const sbx = viaServer
  ? await Sandbox.create('base', { timeoutMs: 300_000 })
  : new Sandbox({
      sandboxId: 'debug_sandbox_id',
      envdVersion: '0.6.13',
      envdAccessToken: process.env.SOULBOX_ACCESS_TOKEN,
      debug: true,
    })

// Each test file kills its sandbox when it is done.
process.on('beforeExit', async () => {
  if (viaServer && !sbx.__killed) {
    sbx.__killed = true
    await sbx.kill().catch(() => {})
  }
})
