// The agent protocol through the proxy, with the official E2B SDK: the
// page's own origin routes to the sandbox by the E2b-Sandbox-Id header,
// so the browser needs no cross-origin access or sandbox host names.
import { Sandbox } from 'e2b'
import { SandboxDetail } from './api'
import { savedKey } from './session'

// agentOf returns an SDK handle for a sandbox from its GET /sandboxes/{id}
// body. It is built from that body rather than with Sandbox.connect,
// which would also change the sandbox's timeout: looking at a sandbox
// must not keep it alive.
export function agentOf(sb: SandboxDetail): Sandbox {
  const origin = location.origin
  return new Sandbox({
    sandboxId: sb.sandboxID,
    envdVersion: sb.envdVersion,
    envdAccessToken: sb.envdAccessToken,
    sandboxDomain: location.host,
    apiKey: savedKey() ?? undefined,
    apiUrl: origin,
    sandboxUrl: origin,
    requestTimeoutMs: 30_000,
  })
}

// fileURL is the agent's /files endpoint for path, for the uploads and
// downloads the SDK does without progress. It names no user: the agent
// uses the sandbox's default user, as the SDK's other calls do.
export function fileURL(path: string): string {
  return `${location.origin}/files?${new URLSearchParams({ path })}`
}

export function agentHeaders(sb: SandboxDetail): Record<string, string> {
  const h: Record<string, string> = { 'E2b-Sandbox-Id': sb.sandboxID, 'E2b-Sandbox-Port': '49983' }
  if (sb.envdAccessToken) h['X-Access-Token'] = sb.envdAccessToken
  return h
}
