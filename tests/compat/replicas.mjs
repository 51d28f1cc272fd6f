// Driven by TestE2BSDKReplicas (replicas_test.go): the official SDK
// against two control-plane replicas sharing one PostgreSQL, each given
// as E2B_API_URL in turn.
//
//   node replicas.mjs create N        creates N sandboxes, runs a command
//                                     in each, prints their ids as JSON
//   node replicas.mjs exec IDS        connects to each sandbox and runs a
//                                     command and a file write and read
//   node replicas.mjs load IDS SECS   runs commands on the sandboxes in
//                                     turn for SECS seconds; any failure
//                                     fails it; prints the count
//   node replicas.mjs timeout IDS S   sets each sandbox's timeout to S s
//   node replicas.mjs kill IDS        kills the sandboxes
import assert from 'node:assert/strict'
import { Sandbox } from 'e2b'

const [mode, arg, extra] = process.argv.slice(2)
const ids = () => arg.split(',').filter(Boolean)

if (mode === 'create') {
  const out = []
  for (let i = 0; i < Number(arg); i++) {
    const sbx = await Sandbox.create('base', { timeoutMs: 600_000 })
    out.push(sbx.sandboxId)
    const run = await sbx.commands.run('echo "hi from $(hostname)"')
    assert.equal(run.stdout, `hi from ${sbx.sandboxId}\n`)
  }
  console.log(JSON.stringify(out))
} else if (mode === 'exec') {
  for (const id of ids()) {
    const sbx = await Sandbox.connect(id)
    const run = await sbx.commands.run('hostname')
    assert.equal(run.stdout, `${id}\n`)
    await sbx.files.write('/home/user/replica.txt', `via ${process.env.E2B_API_URL}`)
    assert.equal(await sbx.files.read('/home/user/replica.txt'), `via ${process.env.E2B_API_URL}`)
  }
  console.log('ok')
} else if (mode === 'load') {
  const sbxs = []
  for (const id of ids()) sbxs.push(await Sandbox.connect(id))
  const until = Date.now() + Number(extra) * 1000
  let n = 0
  while (Date.now() < until) {
    const sbx = sbxs[n % sbxs.length]
    const run = await sbx.commands.run(`echo ${n}`)
    assert.equal(run.stdout, `${n}\n`)
    n++
  }
  console.log(String(n))
} else if (mode === 'timeout') {
  for (const id of ids()) {
    await Sandbox.setTimeout(id, Number(extra) * 1000)
  }
  console.log('ok')
} else if (mode === 'kill') {
  for (const id of ids()) {
    assert.equal(await Sandbox.kill(id), true, `kill ${id}`)
  }
  console.log('killed')
} else {
  throw new Error(`unknown mode ${mode}`)
}
