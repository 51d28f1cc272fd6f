// The SDK over HTTPS, trusting SoulBox's local certificate authority
// through NODE_EXTRA_CA_CERTS. Run by TestE2BSDKOverHTTPS, not with the
// *.test.mjs files: it needs a server with TLS on. With E2B_API_URL and
// E2B_SANDBOX_URL set, or with only E2B_DOMAIN, as a user of a server on
// port 443 would have it (SOULBOX_PORT empty).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Sandbox } from 'e2b'
import { Sandbox as CodeInterpreter } from '@e2b/code-interpreter'

test('over HTTPS: create, run a command, reach a port by getHost', async () => {
  const port = process.env.SOULBOX_PORT ? `:${process.env.SOULBOX_PORT}` : ''
  const sbx = await Sandbox.create('base')
  try {
    const r = await sbx.commands.run('echo over tls')
    assert.equal(r.stdout, 'over tls\n')
    await sbx.files.write('/home/user/site/index.html', '<h1>from the sandbox</h1>')
    await sbx.commands.run('cd /home/user/site && python3 -m http.server 8080', { background: true })
    // The domain of the create response: the server's, not E2B's.
    const host = sbx.getHost(8080)
    assert.equal(host, `8080-${sbx.sandboxId}.${process.env.SOULBOX_DOMAIN}`)
    // The SDK's URL is https://<host>, on 443.
    const url = `https://${host}${port}/index.html`
    let body = ''
    let last
    for (let i = 0; i < 100 && !body.includes('from the sandbox'); i++) {
      const res = await fetch(url).catch((e) => { last = e; return null })
      body = res && res.ok ? await res.text() : ''
      if (!body) await new Promise((r) => setTimeout(r, 100))
    }
    assert.match(body, /from the sandbox/, `GET ${url}: ${last?.cause ?? last}`)
  } finally {
    await sbx.kill()
  }
})

test('over HTTPS: the code interpreter on port 49999', async () => {
  const sbx = await CodeInterpreter.create({ timeoutMs: 120_000 })
  try {
    const ex = await sbx.runCode('6 * 7')
    assert.equal(ex.text, '42')
  } finally {
    await sbx.kill()
  }
})
