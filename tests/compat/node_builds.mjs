// Driven by TestE2BSDKBuildOnNodes (node_builds_test.go): E2B's Template
// builder, unchanged, against a control plane without an embedded node,
// whose builds run on a joined node.
//
//   node node_builds.mjs build NAME   builds NAME from the default base
//                                     with RUN, COPY and ENV, checks the
//                                     log, then a sandbox of it
//   node node_builds.mjs fail NAME    a build whose step fails: the SDK's
//                                     BuildError with the step's output
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Template, Sandbox, BuildError } from 'e2b'

const [mode, name] = process.argv.slice(2)
const dir = mkdtempSync(join(tmpdir(), 'tpl-ctx-'))
writeFileSync(join(dir, 'hello.txt'), 'copied by the sdk\n')
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

async function build (t) {
  const logs = []
  await Template.build(t, name, { cpuCount: 1, memoryMB: 512, onBuildLogs: (e) => logs.push(e.message) })
  return logs.join('\n')
}

if (mode === 'build') {
  const logs = await build(Template({ fileContextPath: dir })
    .fromBaseImage()
    .setEnvs({ BUILT_WHERE: 'on a node' })
    .runCmd('echo "sdk build says $BUILT_WHERE" && echo ran-on-a-node > /home/user/ran.txt')
    .copy('hello.txt', '/home/user/'))
  assert.match(logs, /building on node /)
  assert.match(logs, /sdk build says on a node/)
  const sbx = await Sandbox.create(name, { timeoutMs: 120_000 })
  try {
    const run = await sbx.commands.run('cat /home/user/ran.txt /home/user/hello.txt; echo "$BUILT_WHERE"')
    assert.equal(run.stdout, 'ran-on-a-node\ncopied by the sdk\non a node\n')
  } finally {
    await sbx.kill()
  }
  console.log(JSON.stringify({ sandbox: sbx.sandboxId }))
} else if (mode === 'fail') {
  await assert.rejects(
    build(Template().fromBaseImage().runCmd('echo broken-on-purpose; exit 7')),
    (err) => {
      assert.ok(err instanceof BuildError, `a BuildError, got ${err}`)
      assert.match(err.message, /exited with code 7/)
      assert.match(err.message, /broken-on-purpose/)
      return true
    })
  console.log('{}')
} else {
  throw new Error(`unknown mode ${mode}`)
}
