// files.* and signed upload/download URLs of the official E2B SDK.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FileType, NotFoundError } from 'e2b'
import { sbx } from './sandbox.mjs'

test('write and read text, bytes and streams', async () => {
  const info = await sbx.files.write('/home/user/hello.txt', 'hello world')
  assert.equal(info.path, '/home/user/hello.txt')
  assert.equal(await sbx.files.read('/home/user/hello.txt'), 'hello world')
  const bytes = new Uint8Array([0, 1, 2, 250, 255])
  await sbx.files.write('bin.dat', bytes) // relative to the user's home
  assert.deepEqual(await sbx.files.read('/home/user/bin.dat', { format: 'bytes' }), bytes)
  const owner = await sbx.commands.run('stat -c %U /home/user/hello.txt')
  assert.equal(owner.stdout, 'user\n')
})

test('writeFiles writes many files in one request', async () => {
  const infos = await sbx.files.write([
    { path: '/home/user/many/a.txt', data: 'A' },
    { path: '/home/user/many/sub/b.txt', data: 'B' },
  ])
  assert.equal(infos.length, 2)
  assert.equal(await sbx.files.read('/home/user/many/sub/b.txt'), 'B')
})

test('list, exists, getInfo, makeDir, rename, remove', async () => {
  assert.equal(await sbx.files.makeDir('/home/user/dir/nested'), true)
  assert.equal(await sbx.files.makeDir('/home/user/dir/nested'), false) // already there
  await sbx.files.write('/home/user/dir/f.txt', '12345')
  const entries = await sbx.files.list('/home/user/dir')
  assert.deepEqual(entries.map((e) => e.name).sort(), ['f.txt', 'nested'])
  const f = entries.find((e) => e.name === 'f.txt')
  assert.equal(f.type, FileType.FILE)
  assert.equal(f.size, 5)
  assert.equal(f.owner, 'user')
  const deep = await sbx.files.list('/home/user/dir', { depth: 2 })
  assert.ok(deep.length >= 2)
  assert.equal(await sbx.files.exists('/home/user/dir/f.txt'), true)
  assert.equal(await sbx.files.exists('/home/user/dir/nope'), false)
  const info = await sbx.files.getInfo('/home/user/dir')
  assert.equal(info.type, FileType.DIR)
  const moved = await sbx.files.rename('/home/user/dir/f.txt', '/home/user/dir/g.txt')
  assert.equal(moved.path, '/home/user/dir/g.txt')
  await sbx.files.remove('/home/user/dir')
  assert.equal(await sbx.files.exists('/home/user/dir'), false)
  await assert.rejects(sbx.files.read('/home/user/dir/g.txt'), (e) => e instanceof NotFoundError)
  await assert.rejects(sbx.files.getInfo('/nope/nothing'), (e) => e instanceof NotFoundError)
})

test('watchDir reports changes as they happen', async () => {
  await sbx.files.makeDir('/home/user/watched')
  const events = []
  const handle = await sbx.files.watchDir('/home/user/watched', (ev) => events.push(ev), { recursive: true })
  await sbx.files.write('/home/user/watched/new.txt', 'x')
  await sbx.commands.run('mkdir -p /home/user/watched/sub && echo y > /home/user/watched/sub/deep.txt && rm /home/user/watched/new.txt')
  const done = () => events.some((e) => e.name === 'sub/deep.txt') && events.some((e) => e.type === 'remove' && e.name === 'new.txt')
  for (let i = 0; i < 100 && !done(); i++) {
    await new Promise((r) => setTimeout(r, 50))
  }
  await handle.stop()
  const names = events.map((e) => `${e.type}:${e.name}`)
  assert.ok(names.some((n) => n.endsWith(':new.txt')), `no event for new.txt in ${names}`)
  assert.ok(names.some((n) => n.endsWith(':sub/deep.txt')), `no recursive event in ${names}`)
  assert.ok(names.includes('remove:new.txt'), `no remove in ${names}`)
  assert.ok(!names.some((n) => n.includes('soulbox-upload')), `upload temp files leaked into ${names}`)
})

test('uploadUrl and downloadUrl, with and without expiry', async () => {
  const up = await sbx.uploadUrl('/home/user/via-url.txt')
  const form = new FormData()
  form.append('file', new Blob(['signed upload']), 'via-url.txt')
  const res = await fetch(up, { method: 'POST', body: form })
  assert.equal(res.status, 200)
  const down = await sbx.downloadUrl('/home/user/via-url.txt', { useSignatureExpiration: 60 })
  assert.match(down, /signature_expiration=/)
  const got = await fetch(down)
  assert.equal(got.status, 200)
  assert.equal(await got.text(), 'signed upload')
  // A signature for one path does not open another.
  const other = down.replace('via-url.txt', 'hello.txt')
  assert.equal((await fetch(other)).status, 401)
  // An expired one is refused.
  const expired = await sbx.downloadUrl('/home/user/via-url.txt', { useSignatureExpiration: -10 })
  const refused = await fetch(expired)
  assert.equal(refused.status, 401)
  // In envd's words, which E2B's SDKs show.
  assert.equal((await refused.json()).message, 'signature is already expired')
})
