// Driven by TestE2BSDKAcrossNodes (nodes_test.go): the official SDK
// against a server whose creates the scheduler spreads over joined nodes,
// through the one API URL.
//
//   node nodes.mjs create N   creates N sandboxes, runs a command and
//                             writes and reads a file in each, and prints
//                             their ids as JSON
//   node nodes.mjs kill IDS   kills the sandboxes (comma-separated ids)
//                             and checks that they are gone
//   node nodes.mjs pause ID   runs a server counting in memory in the
//                             sandbox, pauses it and connects to it: the
//                             count goes on, a file written before is kept
//   node nodes.mjs pauseonly ID   the same counter and file, then pauses
//   node nodes.mjs moved ID   connects to the sandbox paused so (driven by
//                             TestE2BSDKMovePaused: its node is gone, it
//                             resumes on another): the count goes on, the
//                             file is kept, commands run
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
} else if (mode === 'pause' || mode === 'pauseonly' || mode === 'moved') {
  const counter = `python3 -c '
import http.server
n = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global n
        n += 1
        b = str(n).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
http.server.HTTPServer(("0.0.0.0", 8000), H).serve_forever()
'`
  const get = async () => {
    const res = await fetch(process.env.E2B_API_URL + '/', { headers: { 'E2b-Sandbox-Id': arg, 'E2b-Sandbox-Port': '8000' } })
    return [res.status, await res.text()]
  }
  if (mode === 'moved') {
    const back = await Sandbox.connect(arg)
    assert.equal((await Sandbox.getInfo(arg)).state, 'running')
    assert.deepEqual(await get(), [200, '2'])
    assert.equal(await back.files.read('/home/user/kept.txt'), 'kept')
    const run = await back.commands.run('hostname')
    assert.equal(run.stdout, `${arg}\n`)
    console.log('moved and resumed')
    process.exit(0)
  }
  const sbx = await Sandbox.connect(arg)
  await sbx.files.write('/home/user/kept.txt', 'kept')
  await sbx.commands.run(counter, { background: true })
  let up = false
  for (let i = 0; i < 50 && !up; i++) {
    up = (await get())[0] === 200 // counts 1
    if (!up) await new Promise((r) => setTimeout(r, 100))
  }
  assert.ok(up, 'the counter server did not start')
  assert.equal(await sbx.pause(), true)
  assert.equal((await Sandbox.getInfo(arg)).state, 'paused')
  if (mode === 'pauseonly') {
    console.log('paused')
    process.exit(0)
  }
  const back = await Sandbox.connect(arg)
  assert.equal((await Sandbox.getInfo(arg)).state, 'running')
  assert.deepEqual(await get(), [200, '2'])
  assert.equal(await back.files.read('/home/user/kept.txt'), 'kept')
  console.log('paused and resumed')
} else {
  throw new Error(`unknown mode ${mode}`)
}
