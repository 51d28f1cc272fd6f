// Pause to disk and resume through the SDK: pause (with memory, E2B's
// default) and connect keep a server's in-memory state, also paused again
// after a resume; keepMemory false
// keeps files only; lifecycle.onTimeout 'pause' with autoResume resumes
// on traffic. Runs only through the server.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Sandbox } from 'e2b'
import { viaServer } from './sandbox.mjs'

const skip = !viaServer && 'needs the control plane'

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

// get asks port 8000 of a sandbox through the server's proxy.
async function get(id) {
  const res = await fetch(process.env.E2B_API_URL + '/', { headers: { 'E2b-Sandbox-Id': id, 'E2b-Sandbox-Port': '8000' } })
  return [res.status, await res.text()]
}

async function startCounter(sbx) {
  await sbx.commands.run(counter, { background: true })
  for (let i = 0; i < 50; i++) {
    const [status] = await get(sbx.sandboxId)
    if (status === 200) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('the counter server did not start')
}

async function waitState(id, state) {
  for (let i = 0; i < 150; i++) {
    if ((await Sandbox.getInfo(id)).state === state) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`sandbox ${id} did not become ${state}`)
}

test('pause keeps memory and files; connect resumes; keepMemory false keeps files', { skip }, async () => {
  const sbx = await Sandbox.create('base', { timeoutMs: 300_000 })
  try {
    await sbx.files.write('/home/user/kept.txt', 'kept')
    await startCounter(sbx) // counted 1
    assert.equal(await sbx.pause(), true)
    assert.equal(await sbx.pause(), false) // already paused: E2B's 409
    assert.equal((await Sandbox.getInfo(sbx.sandboxId)).state, 'paused')

    const back = await Sandbox.connect(sbx.sandboxId)
    assert.equal((await Sandbox.getInfo(sbx.sandboxId)).state, 'running')
    assert.deepEqual(await get(sbx.sandboxId), [200, '2'])
    assert.equal(await back.files.read('/home/user/kept.txt'), 'kept')

    // A resumed sandbox pauses with its memory again.
    assert.equal(await back.pause(), true)
    await Sandbox.connect(sbx.sandboxId)
    assert.deepEqual(await get(sbx.sandboxId), [200, '3'])

    assert.equal(await back.pause({ keepMemory: false }), true)
    const cold = await Sandbox.connect(sbx.sandboxId)
    assert.equal(await cold.files.read('/home/user/kept.txt'), 'kept')
    assert.equal((await get(sbx.sandboxId))[0], 502) // its processes are gone
    assert.equal((await cold.commands.run('echo up')).stdout, 'up\n')
  } finally {
    await Sandbox.kill(sbx.sandboxId)
  }
})

test('onTimeout pause with autoResume: traffic resumes it', { skip }, async () => {
  const sbx = await Sandbox.create('base', { timeoutMs: 3_000, lifecycle: { onTimeout: 'pause', autoResume: true } })
  try {
    const info = await Sandbox.getInfo(sbx.sandboxId)
    assert.deepEqual([info.lifecycle?.onTimeout, info.lifecycle?.autoResume], ['pause', true])
    await startCounter(sbx) // counted 1
    await waitState(sbx.sandboxId, 'paused')
    assert.deepEqual(await get(sbx.sandboxId), [200, '2'])
    assert.equal((await Sandbox.getInfo(sbx.sandboxId)).state, 'running')
  } finally {
    await Sandbox.kill(sbx.sandboxId)
  }
})
