// E2B's Template builder, unchanged, against a SoulBox server: build from a
// registry image with every step type, create sandboxes from the result,
// rebuild from cache, force, tags, and the mistakes users make.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Template, Sandbox, waitForFile, BuildError } from 'e2b'

const api = process.env.E2B_API_URL
const key = process.env.E2B_API_KEY
const name = `compat-tpl-${Date.now()}`
const dir = mkdtempSync(join(tmpdir(), 'tpl-ctx-'))
writeFileSync(join(dir, 'hello.txt'), 'hello from the host\n')
after(() => rmSync(dir, { recursive: true, force: true }))

const template = () => Template({ fileContextPath: dir })
  .fromImage(process.env.TINY_IMAGE)
  .setEnvs({ GREETING: 'hi there' })
  .setWorkdir('/app')
  .runCmd('echo "$GREETING" > greeting.txt && id -un > builder.txt')
  .copy('hello.txt', '/app/')
  .runCmd('mkdir -p /opt/tool && echo root-was-here > /opt/tool/mark', { user: 'root' })
  .setUser('root')
  .setStartCmd('echo started > /tmp/started; exec sleep 100000', waitForFile('/tmp/started'))

async function build (t, nameOrOpts, opts = {}) {
  const logs = []
  await Template.build(t, nameOrOpts, { ...opts, onBuildLogs: (e) => logs.push(e.message) })
  return logs.join('\n')
}

async function rest (method, path, body) {
  const res = await fetch(api + path, {
    method, headers: { 'X-API-Key': key, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

let templateID

test('build from a registry image with RUN, COPY, ENV, WORKDIR, USER and a start command', async () => {
  const logs = await build(template(), name)
  assert.match(logs, /RUN echo "\$GREETING"/)
  assert.match(logs, /Uploaded 'hello.txt'/)
  const list = await rest('GET', '/templates')
  const mine = list.body.find((x) => x.names.includes(name))
  assert.ok(mine, 'the template is listed')
  assert.equal(mine.buildStatus, 'ready')
  assert.ok(mine.sizeBytes > 0)
  templateID = mine.templateID
  assert.equal(await Template.exists(name), true)
})

test('a sandbox of the template has it all and was handed out ready', async () => {
  const sbx = await Sandbox.create(name, { timeoutMs: 120_000 })
  try {
    const run = async (cmd) => (await sbx.commands.run(cmd)).stdout
    assert.equal(await run('cat /tmp/started'), 'started\n') // the ready command waited for it
    assert.equal(await run('cat /app/greeting.txt'), 'hi there\n')
    assert.equal(await run('cat /app/builder.txt'), 'user\n') // RUN ran as the template's user
    assert.equal(await run('cat /app/hello.txt'), 'hello from the host\n')
    assert.equal(await run('cat /opt/tool/mark'), 'root-was-here\n')
    assert.equal(await run('echo "$GREETING"'), 'hi there\n')
    assert.equal(await run('id -un'), 'root\n') // USER root is the default user
    assert.equal(await run('pwd'), '/app\n') // WORKDIR is the default directory
    assert.equal((await sbx.files.read('/app/hello.txt')), 'hello from the host\n')

    // Deleting a template a sandbox runs from is refused, and changes nothing.
    const del = await rest('DELETE', `/templates/${templateID}`)
    assert.equal(del.status, 409)
    assert.match(del.body.message, /running/)
    assert.equal(await Template.exists(name), true)
  } finally {
    await sbx.kill()
  }
})

test('an unchanged rebuild is served from cache; force rebuilds', async () => {
  const logs = await build(template(), name)
  assert.match(logs, /Skipping upload of 'hello.txt', already cached/)
  assert.equal((logs.match(/CACHED/g) || []).length, 4, logs)
  const forced = await build(template(), name, { skipCache: true })
  assert.doesNotMatch(forced, /CACHED/)
})

test('tags resolve to their build', async () => {
  await build(Template({ fileContextPath: dir }).fromTemplate(name).runCmd('echo v2 > /app/version'), `${name}:v2`)
  const tags = await Template.getTags(templateID)
  assert.deepEqual(tags.map((x) => x.tag).sort(), ['default', 'v2'])
  const sbx = await Sandbox.create(`${name}:v2`, { timeoutMs: 60_000 })
  try {
    assert.equal((await sbx.commands.run('cat /app/version')).stdout, 'v2\n')
  } finally {
    await sbx.kill()
  }
})

test('fromDockerfile: the SDK parses a Dockerfile into the same steps', async () => {
  const t = Template({ fileContextPath: dir }).fromDockerfile(
    `FROM ${process.env.TINY_IMAGE}\nENV WHO=dockerfile\nCOPY hello.txt /srv/\nRUN echo "$WHO" > /srv/who\n`)
  await build(t, `${name}-df`)
  const sbx = await Sandbox.create(`${name}-df`, { timeoutMs: 60_000 })
  try {
    assert.equal((await sbx.commands.run('cat /srv/who /srv/hello.txt')).stdout, 'dockerfile\nhello from the host\n')
    assert.equal((await sbx.commands.run('id -un; pwd')).stdout, 'user\n/home/user\n')
  } finally {
    await sbx.kill()
  }
})

test('a failing step names the step, its exit code and its last lines', async () => {
  const t = Template().fromImage(process.env.TINY_IMAGE).runCmd('echo first; echo second-line; exit 7')
  await assert.rejects(build(t, `${name}-fail`), (e) => {
    assert.ok(e instanceof BuildError, e)
    assert.match(e.message, /step 1 failed: command exited with code 7/)
    assert.match(e.message, /second-line/)
    return true
  })
  // The status's reason carries the step's last lines as log entries.
  const list = (await rest('GET', '/templates')).body
  const failed = list.find((x) => x.names.includes(`${name}-fail`))
  const status = await rest('GET', `/templates/${failed.templateID}/builds/${failed.buildID}/status`)
  assert.equal(status.body.status, 'error')
  assert.equal(status.body.reason.step, '1')
  assert.ok(status.body.reason.logEntries.some((e) => e.message === 'second-line'), JSON.stringify(status.body.reason))
})

test('an unknown base image fails the build with the pull error', async () => {
  const t = Template().fromImage(`${process.env.REGISTRY}/nope/missing:1`)
  await assert.rejects(build(t, `${name}-nobase`), /pull image .*missing/)
})

test('a ready command that never succeeds fails the create with a reason', async () => {
  // Its output is reported; a process it leaves behind holding the
  // output does not hang the create.
  const ready = 'sleep 1000 & echo not-yet; exit 3'
  await build(Template().fromImage(process.env.TINY_IMAGE).setReadyCmd(ready), `${name}-never`)
  await assert.rejects(Sandbox.create(`${name}-never`), (e) => {
    assert.match(e.message, /ready command ".*" did not succeed within 5s \(last: exit code 3, output \\?"not-yet/)
    return true
  })
})

test('bad input is refused and changes nothing', async () => {
  // The default template's name is taken.
  await assert.rejects(build(Template().fromImage(process.env.TINY_IMAGE), 'base'), /default template/)
  // A files hash that is no SHA-256.
  const bad = await rest('GET', `/templates/${templateID}/files/not-a-hash`)
  assert.equal(bad.status, 400)
  assert.match(bad.body.message, /64 hex/)
  // An upload that is no tar archive is refused and not kept.
  const hash = 'b'.repeat(64)
  const link = await rest('GET', `/templates/${templateID}/files/${hash}`)
  assert.equal(link.status, 201)
  assert.equal(link.body.present, false)
  const put = await fetch(link.body.url, { method: 'PUT', body: 'this is not a tar archive, just words' })
  assert.equal(put.status, 400)
  assert.match((await put.json()).message, /not a valid tar archive/)
  assert.equal((await rest('GET', `/templates/${templateID}/files/${hash}`)).body.present, false)
  // A step type the builder does not know, refused before the build starts.
  const req = await rest('POST', '/v3/templates', { name: `${name}-badstep` })
  assert.equal(req.status, 202)
  const start = await rest('POST', `/v2/templates/${req.body.templateID}/builds/${req.body.buildID}`,
    { fromImage: process.env.TINY_IMAGE, steps: [{ type: 'HEALTHCHECK', args: ['x'] }] })
  assert.equal(start.status, 400)
  assert.match(start.body.message, /HEALTHCHECK/)
  const status = await rest('GET', `/templates/${req.body.templateID}/builds/${req.body.buildID}/status`)
  assert.equal(status.body.status, 'waiting')
  // A COPY whose files were never uploaded.
  const copy = await rest('POST', `/v2/templates/${req.body.templateID}/builds/${req.body.buildID}`,
    { fromImage: process.env.TINY_IMAGE, steps: [{ type: 'COPY', args: ['a', '/a'], filesHash: 'a'.repeat(64) }] })
  assert.equal(copy.status, 400)
  assert.match(copy.body.message, /no files were uploaded/)
})

test('deleting a template frees the layers only it used', async () => {
  const before = readdirSync(process.env.LAYERS_DIR).length
  const t = Template().fromImage(process.env.TINY_IMAGE).runCmd('echo only-mine > /tmp/only')
  await build(t, `${name}-gone`)
  const grown = readdirSync(process.env.LAYERS_DIR).length
  assert.ok(grown > before)
  const info = (await rest('GET', '/templates')).body.find((x) => x.names.includes(`${name}-gone`))
  assert.equal((await rest('DELETE', `/templates/${info.templateID}`)).status, 204)
  assert.equal(await Template.exists(`${name}-gone`), false)
  // The image's layers are shared with the other templates and stay.
  assert.equal(readdirSync(process.env.LAYERS_DIR).length, before)
  const sbx = await Sandbox.create(name, { timeoutMs: 60_000 })
  await sbx.kill()
})
