// The code interpreter (port 49999) through the official
// @e2b/code-interpreter SDK. Runs only through the server (not in debug
// mode, which forwards only the agent's envd port).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { Sandbox, NotFoundError, SandboxError, TimeoutError } from '@e2b/code-interpreter'
import { viaServer } from './sandbox.mjs'

const skip = !viaServer && 'needs the control plane'
const sbx = viaServer ? await Sandbox.create({ timeoutMs: 300_000 }) : null
after(async () => { if (sbx) await sbx.kill() })

test('runCode keeps state across calls and streams to callbacks', { skip }, async () => {
  await sbx.runCode('import math\nx = 20\ndef twice(v):\n    return 2 * v')
  const seen = { stdout: [], stderr: [], results: [], errors: [] }
  const ex = await sbx.runCode('import sys\nprint("out", x)\nprint("err", file=sys.stderr)\ntwice(x) + 2', {
    onStdout: (m) => seen.stdout.push(m.line),
    onStderr: (m) => seen.stderr.push(m.line),
    onResult: (r) => seen.results.push(r),
    onError: (e) => seen.errors.push(e),
  })
  assert.equal(ex.text, '42')
  assert.deepEqual(ex.logs.stdout, ['out 20\n'])
  assert.deepEqual(ex.logs.stderr, ['err\n'])
  assert.deepEqual(seen.stdout, ['out 20\n'])
  assert.deepEqual(seen.stderr, ['err\n'])
  assert.equal(seen.results.length, 1)
  assert.equal(seen.results[0].isMainResult, true)
  assert.equal(seen.errors.length, 0)
  assert.ok(ex.executionCount >= 2, `executionCount ${ex.executionCount}`)
})

test('a matplotlib plot returns a PNG and chart data', { skip }, async () => {
  const ex = await sbx.runCode(`
import matplotlib.pyplot as plt
plt.plot([1, 2, 3], [2, 4, 9], label="squares")
plt.title("Growth")
plt.xlabel("day")
plt.ylabel("size (cm)")
plt.show()
`)
  assert.equal(ex.error, undefined)
  assert.equal(ex.results.length, 1)
  const r = ex.results[0]
  assert.equal(r.isMainResult, false)
  const png = Buffer.from(r.png, 'base64')
  assert.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG')
  const width = png.readUInt32BE(16)
  const height = png.readUInt32BE(20)
  assert.ok(width > 100 && height > 100, `png is ${width}x${height}`)
  assert.equal(r.chart.type, 'line')
  assert.equal(r.chart.title, 'Growth')
  assert.equal(r.chart.x_label, 'day')
  assert.equal(r.chart.y_unit, 'cm')
  assert.equal(r.chart.elements[0].label, 'squares')
  assert.deepEqual(r.chart.elements[0].points, [[1, 2], [2, 4], [3, 9]])
})

test('a figure left open at the end of a cell is shown', { skip }, async () => {
  const ex = await sbx.runCode('import matplotlib.pyplot as plt\nplt.bar(["a", "b"], [3, 5])\nNone')
  assert.equal(ex.results.length, 1)
  assert.ok(ex.results[0].png)
  assert.equal(ex.results[0].chart.type, 'bar')
  assert.deepEqual(ex.results[0].chart.elements.map((e) => [e.label, e.value]), [['a', 3], ['b', 5]])
})

test('a DataFrame returns HTML and text', { skip }, async () => {
  const ex = await sbx.runCode('import pandas as pd\npd.DataFrame({"a": [1, 2], "b": ["x", "y"]})')
  assert.equal(ex.results.length, 1)
  assert.match(ex.results[0].html, /<table/)
  assert.match(ex.results[0].text, /a\s+b/)
  assert.ok(ex.results[0].formats().includes('html'))
})

test('an exception is an error with name, value and traceback', { skip }, async () => {
  let onError
  const ex = await sbx.runCode('def f():\n    return 1 / 0\nf()', { onError: (e) => { onError = e } })
  assert.equal(ex.error.name, 'ZeroDivisionError')
  assert.equal(ex.error.value, 'division by zero')
  assert.match(ex.error.traceback, /ZeroDivisionError/)
  assert.match(ex.error.traceback, /return 1 \/ 0/)
  assert.equal(onError.name, 'ZeroDivisionError')
  // The context is still usable.
  assert.equal((await sbx.runCode('x')).text, '20')
})

test('JavaScript and Bash by language, each with its own state', { skip }, async () => {
  await sbx.runCode('const greeting = "hi"; let n = 1', { language: 'js' })
  const js = await sbx.runCode('console.log(greeting); n + 41', { language: 'javascript' })
  assert.equal(js.text, '42')
  assert.deepEqual(js.logs.stdout, ['hi\n'])
  const awaited = await sbx.runCode('await new Promise((r) => setTimeout(() => r(n * 2), 10))', { language: 'js' })
  assert.equal(awaited.text, '2')

  await sbx.runCode('cd /tmp && export FOO=bar', { language: 'bash' })
  const sh = await sbx.runCode('echo "$PWD $FOO"', { language: 'bash' })
  assert.deepEqual(sh.logs.stdout, ['/tmp bar\n'])
  // Python's state is its own.
  assert.equal((await sbx.runCode('import os; os.getcwd()')).text, "'/home/user'")
})

test('createCodeContext, listCodeContexts, restartCodeContext, removeCodeContext', { skip }, async () => {
  const ctx = await sbx.createCodeContext({ language: 'python', cwd: '/tmp' })
  assert.equal(ctx.language, 'python')
  assert.equal(ctx.cwd, '/tmp')
  assert.equal((await sbx.runCode('import os; y = 5; os.getcwd()', { context: ctx })).text, "'/tmp'")
  // Contexts do not share state.
  assert.equal((await sbx.runCode("'y' in globals()")).text, 'False')
  assert.ok((await sbx.listCodeContexts()).some((c) => c.id === ctx.id))

  await sbx.restartCodeContext(ctx)
  assert.equal((await sbx.runCode("'y' in globals()", { context: ctx })).text, 'False')

  const js = await sbx.createCodeContext({ language: 'js' })
  assert.equal(js.language, 'javascript')
  await sbx.removeCodeContext(js.id)
  await sbx.removeCodeContext(ctx)
  const ids = (await sbx.listCodeContexts()).map((c) => c.id)
  assert.ok(!ids.includes(ctx.id) && !ids.includes(js.id))
  // A failed runCode leaves the SDK's request timer running (60 s by
  // default), which would keep this file's process alive: keep it short.
  await assert.rejects(sbx.runCode('1', { context: ctx, requestTimeoutMs: 2000 }), NotFoundError)
})

test('a timeout interrupts a runaway cell and the context stays usable', { skip }, async () => {
  await sbx.runCode('z = 7')
  await assert.rejects(sbx.runCode('while True: pass', { timeoutMs: 1000 }), TimeoutError)
  assert.equal((await sbx.runCode('z * 6')).text, '42')
})

test('env vars apply to one execution', { skip }, async () => {
  const ex = await sbx.runCode('import os; os.environ["ONLY_NOW"]', { envs: { ONLY_NOW: 'yes' } })
  assert.equal(ex.text, "'yes'")
  assert.equal((await sbx.runCode('import os; os.environ.get("ONLY_NOW", "gone")')).text, "'gone'")
})

test('bad input: both context and language, unknown language', { skip }, async () => {
  const ctx = { id: 'x', language: 'python', cwd: '/' }
  await assert.rejects(sbx.runCode('1', { context: ctx, language: 'python' }), /not both|context or language/)
  await assert.rejects(sbx.runCode('1', { language: 'cobol', requestTimeoutMs: 2000 }), (err) => err instanceof SandboxError && /400/.test(err.message))
  await assert.rejects(sbx.createCodeContext({ language: 'cobol' }), /400/)
})

test('runCode("1+1") latency in a warm context', { skip }, async () => {
  await sbx.runCode('1+1')
  const times = []
  for (let i = 0; i < 40; i++) {
    const start = performance.now()
    const ex = await sbx.runCode('1+1')
    times.push(performance.now() - start)
    assert.equal(ex.text, '2')
  }
  times.sort((a, b) => a - b)
  console.log(`runCode('1+1') p50 ${times[20].toFixed(1)} ms, p95 ${times[38].toFixed(1)} ms over ${times.length} runs`)
})

test('the README example: a DataFrame and its plot in one cell', { skip }, async () => {
  await sbx.runCode('import pandas as pd\ndf = pd.DataFrame({"x": [1, 2, 3], "y": [2, 4, 9]})')
  const ex = await sbx.runCode('df.plot(x="x", y="y"); df')
  assert.equal(ex.results.length, 2)
  assert.match(ex.results[0].html, /<table/)
  assert.ok(ex.results[1].png.length > 1000)
  assert.deepEqual(ex.results[1].chart.elements[0].points, [[1, 2], [2, 4], [3, 9]])
})
