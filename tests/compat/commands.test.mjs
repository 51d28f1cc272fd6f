// commands.* and pty.* of the official E2B SDK against a SoulBox agent.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CommandExitError, TimeoutError } from 'e2b'
import { sbx, viaServer } from './sandbox.mjs'

test('run: stdout, stderr, exit code', async () => {
  const r = await sbx.commands.run('echo hello; echo err >&2')
  assert.equal(r.stdout, 'hello\n')
  assert.equal(r.stderr, 'err\n')
  assert.equal(r.exitCode, 0)
  await assert.rejects(sbx.commands.run('exit 3'), (e) => e instanceof CommandExitError && e.exitCode === 3)
})

test('run: envs, cwd, user', async () => {
  const r = await sbx.commands.run('echo "$(whoami) $PWD $FOO"', { envs: { FOO: 'bar' }, cwd: '/tmp' })
  assert.equal(r.stdout, 'user /tmp bar\n')
  const root = await sbx.commands.run('id -u', { user: 'root' })
  assert.equal(root.stdout, '0\n')
})

// E2B's own SDK test: a command's envs do not reach the next command, and
// user has passwordless sudo (as in E2B's templates) to show it.
test('run: scoped envs do not leak; sudo works for user', async () => {
  const r = await sbx.commands.run('echo $FOO', { envs: { FOO: 'bar' } })
  assert.equal(r.stdout.trim(), 'bar')
  const r2 = await sbx.commands.run('sudo echo "$FOO"')
  assert.equal(r2.exitCode, 0)
  assert.equal(r2.stdout.trim(), '')
  const r3 = await sbx.commands.run('sudo id -u')
  assert.equal(r3.stdout, '0\n')
})

test('run: onStdout and onStderr stream as output is produced', async () => {
  const out = []
  const err = []
  await sbx.commands.run('for i in 1 2 3; do echo o$i; echo e$i >&2; sleep 0.1; done', {
    onStdout: (d) => out.push(d),
    onStderr: (d) => err.push(d),
  })
  assert.equal(out.join(''), 'o1\no2\no3\n')
  assert.equal(err.join(''), 'e1\ne2\ne3\n')
  assert.ok(out.length >= 2, 'stdout arrived in one piece: not streamed')
})

test('run: timeout kills the command and keeps partial output', async () => {
  const out = []
  await assert.rejects(
    sbx.commands.run('echo before; sleep 30; echo after', { timeoutMs: 1500, onStdout: (d) => out.push(d) }),
    (e) => e instanceof TimeoutError || /timeout|deadline/i.test(String(e)),
  )
  assert.equal(out.join(''), 'before\n')
  // Killed at the deadline: gone within moments.
  const ps = await sbx.commands.run('for i in $(seq 20); do pgrep -x sleep >/dev/null || exit 0; sleep 0.05; done; pgrep -x sleep')
  assert.equal(ps.stdout, '')
})

test('background, list, connect, kill', async () => {
  const h = await sbx.commands.run('sleep 300', { background: true })
  assert.ok(h.pid > 0)
  const listed = await sbx.commands.list()
  const mine = listed.find((p) => p.pid === h.pid)
  assert.ok(mine, 'background command not listed')
  assert.equal(mine.cmd, '/bin/bash')
  assert.deepEqual(mine.args, ['-l', '-c', 'sleep 300'])
  const again = await sbx.commands.connect(h.pid)
  assert.equal(await sbx.commands.kill(h.pid), true)
  await assert.rejects(again.wait(), (e) => e instanceof CommandExitError)
  assert.equal(await sbx.commands.kill(h.pid), false)
})

test('stdin: sendStdin and closeStdin', async () => {
  const h = await sbx.commands.run('cat', { background: true, stdin: true })
  await sbx.commands.sendStdin(h.pid, 'line one\n')
  await sbx.commands.sendStdin(h.pid, 'line two\n')
  await sbx.commands.closeStdin(h.pid)
  const r = await h.wait()
  assert.equal(r.stdout, 'line one\nline two\n')
})

test('pty: create, sendInput, resize, kill', async () => {
  let output = ''
  const dec = new TextDecoder()
  const term = await sbx.pty.create({ cols: 80, rows: 24, onData: (d) => { output += dec.decode(d) } })
  await sbx.pty.resize(term.pid, { cols: 132, rows: 43 })
  await sbx.pty.sendInput(term.pid, new TextEncoder().encode('stty size; echo "sum=$((40+2))"\n'))
  for (let i = 0; i < 100 && !(output.includes('43 132') && output.includes('sum=42')); i++) {
    await new Promise((r) => setTimeout(r, 50))
  }
  assert.match(output, /43 132/)
  assert.match(output, /sum=42/)
  assert.equal(await sbx.pty.kill(term.pid), true)
  await assert.rejects(term.wait())
})

test('a wrong access token is refused', async () => {
  const { Sandbox } = await import('e2b')
  const intruder = viaServer
    ? new Sandbox({ sandboxId: sbx.sandboxId, envdVersion: '0.6.13', envdAccessToken: 'wrong' })
    : new Sandbox({ sandboxId: 'debug_sandbox_id', envdVersion: '0.6.13', envdAccessToken: 'wrong', debug: true })
  await assert.rejects(intruder.commands.run('true'), (e) => /unauth|401|token/i.test(String(e)))
})
