// Driven by TestE2BSDKAcrossNodes (nodes_test.go): the official SDK
// against a server whose creates the scheduler spreads over joined nodes,
// through the one API URL.
//
//   node nodes.mjs create N   creates N sandboxes, runs a command and
//                             writes and reads a file in each, and prints
//                             their ids as JSON
//   node nodes.mjs kill IDS   kills the sandboxes (comma-separated ids)
//                             and checks that they are gone
import assert from 'node:assert/strict'
import { Sandbox } from 'e2b'

const [mode, arg] = process.argv.slice(2)

if (mode === 'create') {
  const ids = []
  for (let i = 0; i < Number(arg); i++) {
    const sbx = await Sandbox.create('base', { timeoutMs: 600_000 })
    ids.push(sbx.sandboxId)
    const run = await sbx.commands.run('echo "hi from $(hostname)"; id -un')
    assert.equal(run.exitCode, 0)
    assert.equal(run.stdout, `hi from ${sbx.sandboxId}\nuser\n`)
    const failed = await sbx.commands.run('exit 7').catch((e) => e)
    assert.equal(failed.exitCode, 7)
    await sbx.files.write('/home/user/where.txt', `written in ${sbx.sandboxId}`)
    assert.equal(await sbx.files.read('/home/user/where.txt'), `written in ${sbx.sandboxId}`)
    const entries = await sbx.files.list('/home/user')
    assert.ok(entries.some((e) => e.name === 'where.txt'))
    assert.equal(await sbx.isRunning(), true)
  }
  console.log(JSON.stringify(ids))
} else if (mode === 'kill') {
  const ids = arg.split(',')
  for (const id of ids) {
    assert.equal(await Sandbox.kill(id), true, `kill ${id}`)
  }
  const listed = await Sandbox.list().nextItems()
  for (const id of ids) {
    assert.ok(!listed.some((s) => s.sandboxId === id), `${id} is still listed`)
    await assert.rejects(Sandbox.connect(id), `connect to killed ${id}`)
  }
  console.log('killed')
} else {
  throw new Error(`unknown mode ${mode}`)
}
