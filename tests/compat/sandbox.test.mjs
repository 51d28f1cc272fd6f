// The sandbox lifecycle through SoulBox's E2B-compatible REST API and
// traffic proxy. Runs only through the server (not in debug mode).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Sandbox, NotFoundError } from 'e2b'
import { viaServer } from './sandbox.mjs'

const skip = !viaServer && 'needs the control plane'

test('create with metadata, envs and timeout; getInfo; isRunning; kill', { skip }, async () => {
  const sbx = await Sandbox.create('base', { metadata: { suite: 'compat', n: '1' }, envs: { GREETING: 'hi' }, timeoutMs: 120_000 })
  try {
    const info = await sbx.getInfo()
    assert.equal(info.sandboxId, sbx.sandboxId)
    assert.equal(info.templateId, 'base')
    assert.deepEqual(info.metadata, { suite: 'compat', n: '1' })
    assert.equal(info.state, 'running')
    assert.ok(info.endAt.getTime() - Date.now() > 100_000)
    const r = await sbx.commands.run('echo $GREETING')
    assert.equal(r.stdout, 'hi\n')
    assert.equal(await sbx.isRunning(), true)
    await sbx.setTimeout(600_000)
    assert.ok((await sbx.getInfo()).endAt.getTime() - Date.now() > 500_000)
  } finally {
    await sbx.kill()
  }
  assert.equal(await sbx.isRunning(), false)
  await assert.rejects(Sandbox.getInfo(sbx.sandboxId), (e) => e instanceof NotFoundError)
})

test('list with metadata and state filters, paginated', { skip }, async () => {
  const tag = 'list-' + Date.now()
  const made = []
  for (let i = 0; i < 3; i++) made.push(await Sandbox.create('base', { metadata: { tag } }))
  try {
    const pager = Sandbox.list({ query: { metadata: { tag }, state: ['running'] }, limit: 2 })
    const seen = []
    while (pager.hasNext) {
      const page = await pager.nextItems()
      assert.ok(page.length <= 2)
      seen.push(...page.map((s) => s.sandboxId))
    }
    // Newest first, as E2B lists.
    assert.deepEqual(seen, made.map((s) => s.sandboxId).reverse())
    const paused = await Sandbox.list({ query: { metadata: { tag }, state: ['paused'] } }).nextItems()
    assert.equal(paused.length, 0)
  } finally {
    await Promise.all(made.map((s) => s.kill()))
  }
})

test('connect to a running sandbox by id', { skip }, async () => {
  const sbx = await Sandbox.create('base')
  try {
    await sbx.files.write('/home/user/mark.txt', 'here')
    const again = await Sandbox.connect(sbx.sandboxId)
    assert.equal(await again.files.read('/home/user/mark.txt'), 'here')
  } finally {
    await sbx.kill()
  }
})

test('getMetrics', { skip }, async () => {
  const sbx = await Sandbox.create('base')
  try {
    await sbx.commands.run('head -c 50000000 /dev/urandom | sha256sum')
    let metrics = []
    for (let i = 0; i < 40 && metrics.length === 0; i++) {
      metrics = await sbx.getMetrics()
      if (metrics.length === 0) await new Promise((r) => setTimeout(r, 250))
    }
    assert.ok(metrics.length > 0, 'no metrics')
    const m = metrics[metrics.length - 1]
    assert.ok(m.memTotal > 0 && m.cpuCount > 0 && m.diskTotal > 0, JSON.stringify(m))
  } finally {
    await sbx.kill()
  }
})

test('getHost: an HTTP server inside the sandbox, fetched through the proxy', { skip }, async () => {
  const sbx = await Sandbox.create('base')
  try {
    await sbx.files.write('/home/user/site/index.html', '<h1>from the sandbox</h1>')
    await sbx.commands.run('cd /home/user/site && python3 -m http.server 8080', { background: true })
    const host = sbx.getHost(8080)
    assert.match(host, new RegExp(`^8080-${sbx.sandboxId}\\.`))
    let body = ''
    for (let i = 0; i < 50 && !body.includes('from the sandbox'); i++) {
      const res = await fetch(`${process.env.E2B_SANDBOX_URL}/index.html`, {
        headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '8080' },
      }).catch(() => null)
      body = res && res.ok ? await res.text() : ''
      if (!body) await new Promise((r) => setTimeout(r, 100))
    }
    assert.match(body, /from the sandbox/)
  } finally {
    await sbx.kill()
  }
})
