// Team keys through the official SDK: a developer of team A creates and
// uses a sandbox; team B neither sees, connects to nor kills it; a viewer
// of team A lists but cannot create. Run by TestE2BSDKWithTeamKeys.
import assert from 'node:assert/strict'
import { Sandbox } from 'e2b'

const devA = { apiKey: process.env.KEY_DEV_A }
const devB = { apiKey: process.env.KEY_DEV_B }
const viewerA = { apiKey: process.env.KEY_VIEWER_A }

async function ids(opts) {
  const p = Sandbox.list(opts)
  const out = []
  while (p.hasNext) {
    for (const s of await p.nextItems()) out.push(s.sandboxId)
  }
  return out
}

const sbx = await Sandbox.create('base', { ...devA, timeoutMs: 120_000 })
try {
  const r = await sbx.commands.run('echo hello from team A')
  assert.equal(r.stdout.trim(), 'hello from team A')
  assert.ok((await ids(devA)).includes(sbx.sandboxId), 'team A lists its sandbox')
  assert.ok((await ids(viewerA)).includes(sbx.sandboxId), 'a viewer of team A lists it too')

  assert.ok(!(await ids(devB)).includes(sbx.sandboxId), 'team B lists team A sandbox')
  await assert.rejects(Sandbox.connect(sbx.sandboxId, devB), /not found/i, 'team B connects to team A sandbox')
  assert.equal(await Sandbox.kill(sbx.sandboxId, devB), false, 'team B kills team A sandbox')
  await assert.rejects(Sandbox.getInfo(sbx.sandboxId, devB), /not found/i)

  await assert.rejects(Sandbox.create('base', viewerA), /sandboxes:create/, 'a viewer creates a sandbox')
  assert.equal(await Sandbox.kill(sbx.sandboxId, viewerA).catch((e) => e.message).then(String).then((m) => /sandboxes:use/.test(m)), true, 'a viewer kills')

  // Still running after all that.
  assert.equal((await sbx.commands.run('echo still')).stdout.trim(), 'still')
} finally {
  await sbx.kill()
}
console.log('team keys: ok')
