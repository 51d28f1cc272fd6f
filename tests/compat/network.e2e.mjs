// The sandbox network through the official SDK: run by network_test.go
// against a server whose uplink and resolver are a fake internet built in
// a network namespace (WORLD_IP answers as WORLD_NAME, OTHER_IP as
// another server).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Sandbox, CommandExitError } from 'e2b'

const { WORLD_IP, WORLD_NAME, OTHER_IP, E2B_SANDBOX_URL } = process.env
const hello = (ip) => `hello from ${ip}`

async function fetchIn(sbx, url) {
  try {
    const r = await sbx.commands.run(`curl -sS -m 2 ${url}`)
    return r.stdout
  } catch (e) {
    if (e instanceof CommandExitError) return null
    throw e
  }
}

async function withSandbox(opts, fn) {
  const sbx = await Sandbox.create('base', opts)
  try {
    await fn(sbx)
  } finally {
    await sbx.kill()
  }
}

test('internet by default, by IP and by name', () =>
  withSandbox({}, async (sbx) => {
    assert.ok((await fetchIn(sbx, `http://${WORLD_IP}/`))?.startsWith(hello(WORLD_IP)))
    assert.ok((await fetchIn(sbx, `http://${WORLD_NAME}/`))?.startsWith(hello(WORLD_IP)))
  }))

test('allowInternetAccess: false blocks egress', () =>
  withSandbox({ allowInternetAccess: false }, async (sbx) => {
    assert.equal(await fetchIn(sbx, `http://${WORLD_IP}/`), null)
  }))

test('allowOut beats denyOut all traffic', () =>
  withSandbox({ network: { denyOut: ({ allTraffic }) => [allTraffic], allowOut: [WORLD_IP] } }, async (sbx) => {
    assert.ok((await fetchIn(sbx, `http://${WORLD_IP}/`))?.startsWith(hello(WORLD_IP)))
    assert.equal(await fetchIn(sbx, `http://${OTHER_IP}/`), null)
  }))

test('updateNetwork closes and opens egress', () =>
  withSandbox({}, async (sbx) => {
    await sbx.updateNetwork({ allowInternetAccess: false })
    assert.equal(await fetchIn(sbx, `http://${WORLD_IP}/`), null)
    await sbx.updateNetwork({ denyOut: [`${OTHER_IP}/32`] })
    assert.ok((await fetchIn(sbx, `http://${WORLD_IP}/`))?.startsWith(hello(WORLD_IP)))
    assert.equal(await fetchIn(sbx, `http://${OTHER_IP}/`), null)
    const info = await sbx.getInfo()
    assert.equal(info.allowInternetAccess, true)
  }))

test('allowPublicTraffic: false needs the traffic access token', () =>
  withSandbox({ network: { allowPublicTraffic: false } }, async (sbx) => {
    assert.ok(sbx.trafficAccessToken, 'the create response carries a traffic access token')
    await sbx.commands.run('python3 -m http.server 8000 --bind 0.0.0.0', { background: true })
    const get = (headers) =>
      fetch(E2B_SANDBOX_URL, { headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '8000', ...headers } })
    let ok
    for (let i = 0; i < 50; i++) {
      ok = await get({ 'e2b-traffic-access-token': sbx.trafficAccessToken })
      if (ok.status === 200) break
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.equal(ok.status, 200)
    assert.equal((await get({})).status, 403)
  }))

test('allowOut by domain and wildcard with denyOut all traffic', () =>
  withSandbox({ network: { denyOut: ({ allTraffic }) => [allTraffic], allowOut: [WORLD_NAME] } }, async (sbx) => {
    assert.ok((await fetchIn(sbx, `http://${WORLD_NAME}/`))?.startsWith(hello(WORLD_IP)))
    assert.ok((await fetchIn(sbx, `-k https://${WORLD_NAME}/`))?.startsWith(hello(WORLD_IP)))
    assert.equal(await fetchIn(sbx, `http://other.test/`), null)
    assert.equal(await fetchIn(sbx, `-k https://other.test/`), null)
    await sbx.updateNetwork({ denyOut: ['0.0.0.0/0'], allowOut: ['*.test'] })
    assert.ok((await fetchIn(sbx, `http://other.test/`))?.startsWith(hello(OTHER_IP)))
    assert.ok((await fetchIn(sbx, `-k https://${WORLD_NAME}/`))?.startsWith(hello(WORLD_IP)))
  }))

test('a malformed domain is refused, naming it', async () => {
  await assert.rejects(Sandbox.create('base', { network: { allowOut: ['bad_name.test'] } }), /bad_name\.test/)
})

test('a domain in denyOut is refused', async () => {
  await assert.rejects(Sandbox.create('base', { network: { denyOut: ['example.com'] } }), /not domains/)
})
