// Runs the LangChain tools against the sandbox server named by E2B_API_URL
// (langchain_test.go starts one), as a LangGraph ToolNode would call them.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { Sandbox } from '@e2b/code-interpreter'
import { soulboxTools } from './tools.mjs'

const sandbox = await Sandbox.create()
after(() => sandbox.kill())
const tools = Object.fromEntries(soulboxTools(sandbox).map((t) => [t.name, t]))

test('tools carry schemas a model can be given', () => {
  assert.deepEqual(Object.keys(tools).sort(), ['read_file', 'run_code', 'run_command', 'write_file'])
  for (const t of Object.values(tools)) assert.ok(t.description.length > 40 && t.schema)
})

test('run_code keeps state and reports charts', async () => {
  await tools.run_code.invoke({ code: 'x = 41' })
  assert.equal(await tools.run_code.invoke({ code: 'x + 1' }), 'value: 42')
  const out = await tools.run_code.invoke({ code: "import matplotlib.pyplot as plt\nplt.plot([1, 2]); plt.title('t'); plt.show()" })
  assert.match(out, /result: a line chart "t" \(PNG/)
  assert.match(await tools.run_code.invoke({ code: '1/0' }), /error: ZeroDivisionError/)
})

test('run_command, write_file and read_file', async () => {
  assert.match(await tools.write_file.invoke({ path: 'notes/a.txt', content: 'hello' }), /wrote 5 bytes to \/home\/user\/notes\/a.txt/)
  assert.equal(await tools.read_file.invoke({ path: 'notes/a.txt' }), 'hello')
  assert.deepEqual(JSON.parse(await tools.run_command.invoke({ command: 'cat notes/a.txt; exit 4' })), { stdout: 'hello', stderr: '', exit_code: 4 })
})

test('a tool call from a model, with its id, gives a ToolMessage', async () => {
  const msg = await tools.run_code.invoke({ type: 'tool_call', id: 'call_1', name: 'run_code', args: { code: '6 * 7' } })
  assert.equal(msg.tool_call_id, 'call_1')
  assert.equal(msg.content, 'value: 42')
})

test('bad arguments are refused before reaching the sandbox', async () => {
  await assert.rejects(tools.run_code.invoke({ code: 42 }), /code/)
  await assert.rejects(tools.run_code.invoke({ code: 'x'.repeat(300 * 1024) }), /code/)
  await assert.rejects(tools.run_code.invoke({ code: '1', language: 'cobol' }), /language/)
})
