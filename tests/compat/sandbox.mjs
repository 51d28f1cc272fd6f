// The sandbox every test file drives. The compat harness has set an access
// token on the agent (as the control plane does at create) and forwards
// localhost:49983 to it; in debug mode the SDK has no API to ask for the
// token, so it is handed over as Sandbox.create would: in the constructor.
import { Sandbox } from 'e2b'

export const token = process.env.SOULBOX_ACCESS_TOKEN

export const sbx = new Sandbox({
  sandboxId: 'debug_sandbox_id',
  envdVersion: '0.6.13',
  envdAccessToken: token,
  debug: true,
})
