// Snapshots and fork through the official SDK: createSnapshot of a
// running sandbox, sandboxes created from its id and its name with its
// processes and files, listSnapshots by sandbox and a page at a time,
// deleteSnapshot, fork.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Sandbox } from 'e2b'

test('createSnapshot, create from it, list, delete', async () => {
  const src = await Sandbox.create({ timeoutMs: 600_000 })
  try {
    await src.files.write('/home/user/snap.txt', 'from the source')
    // A process holding state in memory only.
    await src.commands.run(`python3 -c '
import time
n = 7
while True:
    time.sleep(0.2)
    open("/tmp/alive", "w").write(str(n))
'`, { background: true })
    await new Promise((r) => setTimeout(r, 600))
    const snap = await src.createSnapshot({ name: 'sdk-snap' })
    assert.ok(snap.snapshotId)
    assert.deepEqual(snap.names, ['sdk-snap'])
    // The source runs on.
    assert.equal((await src.commands.run('cat /home/user/snap.txt')).stdout, 'from the source')

    const byId = await Sandbox.create(snap.snapshotId, { timeoutMs: 600_000 })
    const byName = await Sandbox.create('sdk-snap', { timeoutMs: 600_000 })
    try {
      for (const s of [byId, byName]) {
        assert.equal(await s.files.read('/home/user/snap.txt'), 'from the source')
        // The process came along: it rewrites its file.
        await s.commands.run('rm -f /tmp/alive')
        await new Promise((r) => setTimeout(r, 600))
        assert.equal(await s.files.read('/tmp/alive'), '7')
      }
      await byId.files.write('/home/user/snap.txt', 'changed')
      assert.equal(await byName.files.read('/home/user/snap.txt'), 'from the source')
    } finally {
      await byId.kill()
      await byName.kill()
    }

    const second = await Sandbox.createSnapshot(src.sandboxId)
    assert.deepEqual(second.names, [])
    const mine = await src.listSnapshots().nextItems()
    assert.deepEqual(mine.map((s) => s.snapshotId), [snap.snapshotId, second.snapshotId])
    const named = await Sandbox.listSnapshots({ name: 'sdk-snap' }).nextItems()
    assert.deepEqual(named.map((s) => s.snapshotId), [snap.snapshotId])

    const pages = Sandbox.listSnapshots({ limit: 1 })
    const seen = []
    while (pages.hasNext) seen.push(...(await pages.nextItems()))
    assert.deepEqual(seen.map((s) => s.snapshotId), [snap.snapshotId, second.snapshotId])

    assert.equal(await Sandbox.deleteSnapshot(snap.snapshotId), true)
    assert.equal(await Sandbox.deleteSnapshot(snap.snapshotId), false)
    assert.equal(await Sandbox.deleteSnapshot(second.snapshotId), true)
    assert.deepEqual(await Sandbox.listSnapshots().nextItems(), [])
  } finally {
    await src.kill()
  }
})

test('fork: sandboxes with the source processes and files, each its own', async () => {
  const src = await Sandbox.create({ timeoutMs: 600_000 })
  try {
    await src.files.write('/home/user/fork.txt', 'before the fork')
    // A process holding state in memory only.
    await src.commands.run(`python3 -c '
import time
n = 41
while True:
    time.sleep(0.2)
    open("/tmp/alive", "w").write(str(n))
'`, { background: true })
    await new Promise((r) => setTimeout(r, 600))
    const forks = await src.fork({ count: 2, timeoutMs: 120_000 })
    assert.equal(forks.length, 2)
    try {
      for (const f of forks) {
        assert.ok(f instanceof Sandbox, `fork failed: ${f}`)
        assert.notEqual(f.sandboxId, src.sandboxId)
        assert.equal(await f.files.read('/home/user/fork.txt'), 'before the fork')
        // Its own access token: a URL signed by the fork opens the fork,
        // one signed by the source the source (a signed URL names no
        // sandbox, its signature does).
        await f.files.write('/home/user/who.txt', f.sandboxId)
        await src.files.write('/home/user/who.txt', src.sandboxId)
        for (const sbx of [f, src]) {
          const got = await fetch(await sbx.downloadUrl('/home/user/who.txt'))
          assert.equal(got.status, 200)
          assert.equal(await got.text(), sbx.sandboxId)
        }
        // The process came along: it rewrites its file in the fork.
        await f.commands.run('rm -f /tmp/alive')
        await new Promise((r) => setTimeout(r, 600))
        assert.equal(await f.files.read('/tmp/alive'), '41')
      }
      await forks[0].files.write('/home/user/fork.txt', 'changed')
      assert.equal(await forks[1].files.read('/home/user/fork.txt'), 'before the fork')
    } finally {
      for (const f of forks) if (f instanceof Sandbox) await f.kill()
    }
    // Forked with its memory, the source left no snapshot behind.
    assert.deepEqual(await src.listSnapshots().nextItems(), [])
  } finally {
    await src.kill()
  }
})
