// LangChain tools backed by a SoulBox sandbox, through E2B's own SDK: set
// E2B_API_URL, E2B_SANDBOX_URL and E2B_API_KEY to a SoulBox server and the
// code below is what it would be against E2B.
//
//   import { Sandbox } from '@e2b/code-interpreter'
//   const sandbox = await Sandbox.create()
//   const tools = soulboxTools(sandbox)
//   const model = new ChatOpenAI({ model: 'gpt-4o-mini' }).bindTools(tools)   // or ChatAnthropic, ...
//   // in LangGraph: new ToolNode(tools), or createReactAgent({ llm, tools })
import { tool } from '@langchain/core/tools'
import { z } from 'zod'

const MAX_CODE = 256 * 1024
const MAX_TEXT = 64 * 1024

const cut = (s) => (s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) + `\n[... ${s.length - MAX_TEXT} more bytes cut]` : s)

// soulboxTools returns run_code, run_command, write_file and read_file
// bound to one sandbox. Failures come back as text the model can act on.
export function soulboxTools(sandbox) {
  const runCode = tool(
    async ({ code, language }) => {
      const ex = await sandbox.runCode(code, { language: language ?? 'python' })
      const parts = []
      if (ex.logs.stdout.length) parts.push('stdout:\n' + cut(ex.logs.stdout.join('')))
      if (ex.logs.stderr.length) parts.push('stderr:\n' + cut(ex.logs.stderr.join('')))
      for (const r of ex.results) {
        if (r.png) parts.push(`result: a ${r.chart ? `${r.chart.type} chart "${r.chart.title}"` : 'figure'} (PNG, ${r.png.length} base64 characters)`)
        else if (r.text) parts.push((r.isMainResult ? 'value: ' : 'result: ') + cut(r.text))
      }
      if (ex.error) parts.push(`error: ${ex.error.name}: ${ex.error.value}\n${cut(ex.error.traceback)}`)
      return parts.join('\n') || '(no output)'
    },
    {
      name: 'run_code',
      description: 'Run Python (default) or JavaScript in a stateful interpreter in the sandbox, like a notebook cell: variables persist between calls. Returns printed output, the value of the last expression, errors and figures (matplotlib plt.show()).',
      schema: z.object({
        code: z.string().min(1).max(MAX_CODE).describe('the code to run'),
        language: z.enum(['python', 'javascript']).optional().describe('python (default) or javascript'),
      }),
    },
  )
  const runCommand = tool(
    async ({ command, cwd }) => {
      try {
        const r = await sandbox.commands.run(command, { cwd, timeoutMs: 120_000 })
        return JSON.stringify({ stdout: cut(r.stdout), stderr: cut(r.stderr), exit_code: r.exitCode })
      } catch (e) {
        // A non-zero exit is an exception in the SDK; for the model it is a result.
        if (e.exitCode !== undefined) return JSON.stringify({ stdout: cut(e.stdout), stderr: cut(e.stderr), exit_code: e.exitCode })
        throw e
      }
    },
    {
      name: 'run_command',
      description: 'Run a shell command with bash in the sandbox; returns stdout, stderr and exit_code. Killed after 120 seconds.',
      schema: z.object({
        command: z.string().min(1).max(MAX_CODE).describe('the command line'),
        cwd: z.string().optional().describe('working directory; default /home/user'),
      }),
    },
  )
  const writeFile = tool(
    async ({ path, content }) => {
      const info = await sandbox.files.write(path, content)
      return `wrote ${content.length} bytes to ${info.path}`
    },
    {
      name: 'write_file',
      description: 'Write text to a file in the sandbox, creating its directories. Relative paths are under /home/user.',
      schema: z.object({ path: z.string().min(1).describe('file path'), content: z.string().max(8 * 1024 * 1024).describe('the text to write') }),
    },
  )
  const readFile = tool(
    async ({ path }) => cut(await sandbox.files.read(path)),
    {
      name: 'read_file',
      description: 'Read a text file of the sandbox (at most 64 KiB are returned).',
      schema: z.object({ path: z.string().min(1).describe('file path') }),
    },
  )
  return [runCode, runCommand, writeFile, readFile]
}
