// Drives the dashboard in headless Chromium (the system's, through
// playwright-core) against a running SoulBox server, as a user would.
// tests/dashboard runs it with:
//   SOULBOX_URL       the server, e.g. http://127.0.0.1:3000
//   SOULBOX_API_KEY   a key the server issued
//   CHROMIUM          the Chromium binary
//   ARTIFACTS         a directory for the screenshots
// It asks that runner to stop and start the server by printing
// "soulbox: stop the server" and "soulbox: start the server", and waits
// for a line on stdin when done.
// It exits non-zero, saying which step failed, when one does.
import { chromium } from 'playwright-core'
import { Sandbox, Template } from 'e2b'
import path from 'node:path'
import readline from 'node:readline'

const { SOULBOX_URL: url, SOULBOX_API_KEY: key, CHROMIUM: executablePath, ARTIFACTS: artifacts } = process.env
for (const [k, v] of Object.entries({ SOULBOX_URL: url, SOULBOX_API_KEY: key, CHROMIUM: executablePath, ARTIFACTS: artifacts }))
  if (!v) throw new Error(`${k} is not set`)

const sdk = { apiKey: key, apiUrl: url, sandboxUrl: url, domain: 'localhost', requestTimeoutMs: 60_000 }
const problems = []
let step = 'start'
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true })

// terminalRows is what the terminal shows, one string per row.
const terminalRows = (page) => page.$$eval('#terminal .xterm-rows > div', (rows) => rows.map((r) => r.textContent.trim()))

async function typeInTerminal(page, text) {
  await page.click('#terminal')
  await page.keyboard.type(text)
  await page.keyboard.press('Enter')
}

// waitForRow waits until a row of the terminal satisfies pred.
async function waitForRow(page, pred, what) {
  const deadline = Date.now() + 20_000
  let rows = []
  while (Date.now() < deadline) {
    rows = await terminalRows(page)
    if (rows.some(pred)) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`${what}: the terminal shows ${JSON.stringify(rows.filter(Boolean))}`)
}

const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]()
async function ask(request) {
  console.log(request)
  const { value, done } = await lines.next()
  if (done) throw new Error(`no answer to ${JSON.stringify(request)}`)
  return value
}

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'], timeout: 30_000 })
let sbx
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url })
const page = await context.newPage()
try {
  page.setDefaultTimeout(20_000)
  page.on('pageerror', (e) => problems.push(`page error during ${step}: ${e.message}`))
  // The browser reports each failed request as a console error of its
  // own. Each failure expected is tied to the step that causes it on
  // purpose, so that the same failure anywhere else is the page's
  // mistake: the wrong keys' 401s; refused, reset or empty connections
  // while the server is down; the streams into a sandbox cut when it is
  // killed and the proxy's 502 and the API's 404 for it afterwards (the
  // page stops asking, checked below). Requests Chromium aborts when the host's
  // interfaces change, as they do whenever a sandbox's link is made, are
  // expected in any step.
  const failed = (what) => new RegExp(`^Failed to load resource: (${what})`)
  const expectedIn = {
    'a wrong key is refused with a clear message': failed('the server responded with a status of 401'),
    'an expired session goes back to sign-in with the reason': failed('the server responded with a status of 401'),
    'the server restarting during use': failed('net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|EMPTY_RESPONSE)'),
    'kill it and see the end reason': /net::ERR_INCOMPLETE_CHUNKED_ENCODING|status of (502|404)/,
    'a bad audit filter is shown with the API\'s message': failed('the server responded with a status of 400'),
  }
  const expectedAnywhere = failed('net::ERR_NETWORK_CHANGED')
  page.on('console', (m) => {
    if (m.type() !== 'error') return
    const text = m.text()
    if (expectedAnywhere.test(text) || expectedIn[step]?.test(text)) return
    problems.push(`console error during ${step}: ${text}`)
  })

  step = 'the root sends the browser to the dashboard'
  await page.goto(url + '/')
  if (!page.url().endsWith('/dashboard/')) throw new Error(`/ led to ${page.url()}`)
  await page.waitForSelector('#apikey')
  await shot(page, '01-sign-in')

  step = 'a wrong key is refused with a clear message'
  await page.fill('#apikey', 'e2b_' + '0'.repeat(40))
  await page.click('button[type=submit]')
  const refused = await page.locator('[role=alert]').textContent()
  if (!/refused/.test(refused)) throw new Error(`the wrong key showed ${JSON.stringify(refused)}`)
  await shot(page, '02-wrong-key')
  if (await page.evaluate(() => sessionStorage.length) !== 0) throw new Error('a refused key was kept')

  step = 'sign in'
  await page.fill('#apikey', key)
  await page.click('button[type=submit]')
  await page.waitForSelector('#sandboxes')
  if (page.url().includes(key)) throw new Error('the key is in the URL')

  // A template build, whose log the page follows while it runs: the
  // sleep keeps it building long enough to be seen doing so. The output
  // is computed, so that the log's copy of the command does not match it.
  const built = Template.build(
    // The run's time in the command keeps the builder's step cache from
    // answering at once.
    // Its sandboxes' default user is root: the file browser must act as
    // the sandbox's default user, not a fixed one (checked below).
    Template()
      .fromTemplate('base')
      .runCmd(`echo started-$((40+2)) ${Date.now()}; sleep 12; echo built-$((40+2))`)
      .setUser('root'),
    'dashboard-test',
    sdk,
  )
  built.catch(() => {}) // awaited below

  step = 'templates and a build log'
  await page.click('nav >> text=Templates')
  await page.waitForSelector('#templates tbody tr:has-text("dashboard-test")', { timeout: 30_000 })
  await page.click('#templates tbody tr:has-text("dashboard-test") >> text=view')
  await page.waitForSelector('#build-log')
  // Empty until the page's first poll of the build is answered.
  await page.waitForFunction(() => document.querySelector('#build-status')?.textContent !== '')
  const seenWhile = await page.textContent('#build-status')
  if (seenWhile !== 'building' && seenWhile !== 'waiting') throw new Error(`the build was already ${seenWhile} when its log was opened`)
  await page.waitForSelector('#build-log >> text=RUN echo started', { timeout: 30_000 })
  if (/built-42/.test(await page.textContent('#build-log pre'))) throw new Error('the log did not follow: its end was there from the start')
  await page.waitForFunction(
    () =>
      /started-42[^]*built-42/.test(document.querySelector('#build-log pre')?.textContent ?? '') &&
      document.querySelector('#build-status')?.textContent === 'ready',
    null,
    { timeout: 60_000 },
  )
  await built
  console.log(`dashboard: the build log was opened while the build was ${seenWhile} and followed to ready`)
  await shot(page, '02b-templates')

  await page.click('nav >> text=Sandboxes')
  await page.waitForSelector('#sandboxes')

  step = 'a sandbox created by the SDK appears in the list'
  sbx = await Sandbox.create('base', { ...sdk, metadata: { purpose: 'dashboard-test' }, timeoutMs: 300_000 })
  await page.waitForSelector(`tr[data-sandbox="${sbx.sandboxId}"]`)
  const state = await page.textContent(`tr[data-sandbox="${sbx.sandboxId}"] .state`)
  if (state !== 'running') throw new Error(`listed as ${state}`)
  // Its CPU and memory sparklines once the server has a sample.
  await page.waitForSelector(`tr[data-sandbox="${sbx.sandboxId}"] .spark svg`, { timeout: 20_000 })
  await shot(page, '03-sandboxes')

  step = 'open its terminal and run echo hi'
  await page.click(`tr[data-sandbox="${sbx.sandboxId}"] a`)
  await page.waitForSelector('text=Terminal: connected', { timeout: 30_000 })
  await typeInTerminal(page, 'echo hi')
  await waitForRow(page, (t) => t === 'hi', 'echo hi')
  await shot(page, '04-terminal')

  step = 'copy from the terminal with Ctrl+Shift+C'
  const hiRow = page.locator('#terminal .xterm-rows > div', { hasText: /^hi\s*$/ })
  // xterm.js selects on its screen layer, above the rows.
  const box = await hiRow.first().boundingBox()
  await page.mouse.dblclick(box.x + 4, box.y + box.height / 2)
  await page.keyboard.press('Control+Shift+C')
  const copied = await page.evaluate(() => navigator.clipboard.readText())
  if (copied.trim() !== 'hi') throw new Error(`the clipboard holds ${JSON.stringify(copied)}`)

  step = 'keystroke echo latency'
  // From a key press in the browser to its echo on screen, through the
  // proxy, the agent's PTY and back: printed, not asserted.
  const echoes = []
  for (let i = 1; i <= 20; i++) {
    const t0 = performance.now()
    await page.keyboard.press('x')
    await page.waitForFunction(
      (n) => [...document.querySelectorAll('#terminal .xterm-rows > div')].some((r) => r.textContent.trimEnd().endsWith('$ ' + 'x'.repeat(n))),
      i,
      { polling: 'raf', timeout: 10_000 },
    )
    echoes.push(performance.now() - t0)
  }
  await page.keyboard.press('Control+U')
  echoes.sort((a, b) => a - b)
  console.log(`dashboard: keystroke echo over ${echoes.length} keys: median ${echoes[10].toFixed(1)} ms, max ${echoes.at(-1).toFixed(1)} ms`)

  step = 'upload a file and see it with ls'
  await page.click('role=tab[name="Files"]')
  await page.waitForSelector('#files table')
  const content = 'uploaded from the dashboard\n'.repeat(1000)
  await page.setInputFiles('#files input[type=file]', { name: 'from-dashboard.txt', mimeType: 'text/plain', buffer: Buffer.from(content) })
  await page.waitForSelector('text=uploaded from-dashboard.txt')
  await page.waitForSelector('#files >> text=from-dashboard.txt')
  await page.waitForSelector('#files >> text=watching for changes')
  await sbx.files.write('/home/user/from-sdk.txt', 'written by the SDK\n')
  // No refresh: the page watches the directory.
  await page.waitForSelector('#files >> text=from-sdk.txt')
  await page.click('button[aria-label="edit from-sdk.txt"]')
  const was = await page.inputValue('#editor-text')
  if (was !== 'written by the SDK\n') throw new Error(`the editor shows ${JSON.stringify(was)}`)
  await page.fill('#editor-text', 'edited in the dashboard\n')
  await page.click('#editor >> text=Save')
  await page.waitForSelector('text=saved /home/user/from-sdk.txt')
  const edited = await sbx.files.read('/home/user/from-sdk.txt')
  if (edited !== 'edited in the dashboard\n') throw new Error(`the sandbox holds ${JSON.stringify(edited)} after the edit`)
  await shot(page, '05-files')
  const inside = await sbx.files.read('/home/user/from-dashboard.txt')
  if (inside !== content) throw new Error(`the sandbox holds ${inside.length} bytes, not the ${content.length} uploaded`)
  await page.click('role=tab[name="Terminal"]')
  await typeInTerminal(page, 'ls -l /home/user')
  await waitForRow(page, (t) => t.startsWith('-') && t.endsWith(' from-dashboard.txt'), 'ls')

  step = 'a process started by the SDK is listed and killed from the page'
  const bg = await sbx.commands.run('sleep 600', { background: true })
  await page.click('role=tab[name="Processes"]')
  const row = `#processes tr[data-pid="${bg.pid}"]`
  await page.waitForSelector(`${row} >> text=sleep 600`)
  await shot(page, '06-processes')
  await page.click(`${row} button`)
  await page.waitForSelector(row, { state: 'detached' })
  const left = (await sbx.commands.list()).map((p) => p.pid)
  if (left.includes(bg.pid)) throw new Error(`process ${bg.pid} still runs: ${left}`)
  await page.click('role=tab[name="Terminal"]')

  step = 'the metrics chart gains points'
  const points = () => page.$eval('#metrics-chart', (e) => Number(e.dataset.points))
  await page.waitForFunction(() => Number(document.querySelector('#metrics-chart')?.dataset.points) >= 1, null, { timeout: 20_000 })
  const before = await points()
  await page.waitForFunction((n) => Number(document.querySelector('#metrics-chart')?.dataset.points) > n, before, { timeout: 20_000 })
  await shot(page, '07-sandbox-detail')
  await page.emulateMedia({ colorScheme: 'dark' })
  await shot(page, '07-sandbox-detail-dark')
  await page.emulateMedia({ colorScheme: 'light' })

  step = 'kill it and see the end reason'
  await page.click('button:has-text("Kill")')
  await page.waitForSelector('#end-reason')
  const reason = await page.textContent('#end-reason')
  if (!/killed/.test(reason)) throw new Error(`the end shows ${JSON.stringify(reason)}`)
  // The page stops asking for a sandbox that has ended (a round already
  // in flight may still land).
  const after = []
  const count = (r) => r.url().includes(sbx.sandboxId) && after.push(r.url())
  page.on('request', count)
  await page.waitForTimeout(5000)
  page.off('request', count)
  if (after.length > 3) throw new Error(`the page still polls the ended sandbox: ${after.join(', ')}`)
  await shot(page, '08-ended')
  const killedID = sbx.sandboxId
  sbx = undefined

  step = 'files go as the sandbox\'s default user'
  sbx = await Sandbox.create('dashboard-test', { ...sdk, timeoutMs: 120_000 })
  await page.goto(`${url}/dashboard/#/sandboxes/${encodeURIComponent(sbx.sandboxId)}`)
  await page.click('role=tab[name="Files"]')
  await page.waitForSelector('#files table')
  await page.setInputFiles('#files input[type=file]', { name: 'as-default-user.txt', mimeType: 'text/plain', buffer: Buffer.from('x\n') })
  await page.waitForSelector('text=uploaded as-default-user.txt')
  const owner = await sbx.commands.run('stat -c %U /home/user/as-default-user.txt', { user: 'root' })
  if (owner.stdout.trim() !== 'root') throw new Error(`an upload to a sandbox whose default user is root is owned by ${owner.stdout.trim()}`)
  // Killed once the page has left it: a kill under the page cuts its
  // streams, which the kill step above already covers.
  await page.click('nav >> text=Sandboxes')
  await page.waitForSelector('#sandboxes')
  await sbx.kill()
  sbx = undefined

  step = 'the server restarting during use'
  await page.click('nav >> text=Sandboxes')
  await page.waitForSelector('#sandboxes')
  await ask('soulbox: stop the server')
  await page.waitForSelector('text=the server cannot be reached', { timeout: 15_000 })
  if (!(await page.isVisible('#sandboxes'))) throw new Error('the list went away while the server was down')
  await shot(page, '09-server-down')
  await page.waitForFunction(() => /cannot be reached/.test(document.querySelector('.live')?.textContent ?? ''), null, { timeout: 15_000 })
  await ask('soulbox: start the server')
  // Back by itself: the stream live again and the list reloaded.
  await page.waitForFunction(
    () => document.querySelector('.live')?.textContent === 'live' && !document.querySelector('[role=alert]'),
    null,
    { timeout: 20_000 },
  )

  step = 'API keys'
  // A viewer key made on the page: shown once, renamed, refused the
  // audit log with a clear message when signed in with, then revoked
  // and refused by the API.
  await page.click('nav >> text=API keys')
  await page.waitForSelector('#keys tbody tr')
  await page.fill('#new-key input[name=name]', 'dashboard-test')
  await page.selectOption('#new-key select[name=role]', 'viewer')
  await page.click('text=Create key')
  const shown = (await page.textContent('#created-key pre')).trim()
  if (!/^e2b_[0-9a-f]{40}$/.test(shown)) throw new Error(`the new key shows as ${JSON.stringify(shown)}`)
  if (!/viewer key/.test(await page.textContent('#created-key'))) throw new Error('the new key is not said to be a viewer key')
  const keyRow = `#keys tr:has(td.name:text-is("dashboard-test"))`
  await page.waitForSelector(`${keyRow} >> text=viewer`)
  if (!(await page.textContent(keyRow)).includes(shown.slice(0, 10))) throw new Error('the listed key does not show its prefix')
  if ((await page.textContent(keyRow)).includes(shown)) throw new Error('the list shows the whole key')
  await shot(page, '11-keys-created')
  await page.click('text=I have copied it')
  if ((await page.content()).includes(shown)) throw new Error('the key is still on the page after it was dismissed')
  page.once('dialog', (d) => d.accept('dashboard-viewer'))
  await page.click('button[aria-label="rename dashboard-test"]')
  await page.waitForSelector('#keys td.name:text-is("dashboard-viewer")')

  step = 'a viewer key is told it may not read the audit log'
  const viewer = await context.browser().newContext({ viewport: { width: 1280, height: 900 } })
  const vpage = await viewer.newPage()
  vpage.setDefaultTimeout(20_000)
  vpage.on('pageerror', (e) => problems.push(`page error during ${step}: ${e.message}`))
  vpage.on('console', (m) => {
    if (m.type() === 'error' && !/status of 403|net::ERR_NETWORK_CHANGED/.test(m.text())) problems.push(`console error during ${step}: ${m.text()}`)
  })
  await vpage.goto(url + '/dashboard/')
  await vpage.fill('#apikey', shown)
  await vpage.click('button[type=submit]')
  await vpage.waitForSelector('#sandboxes')
  await vpage.click('nav >> text=Audit log')
  await vpage.waitForSelector('#audit-forbidden')
  const forbidden = await vpage.textContent('#audit-forbidden')
  if (!/audit:read/.test(forbidden)) throw new Error(`the viewer is shown ${JSON.stringify(forbidden)}`)
  await vpage.screenshot({ path: path.join(artifacts, '11b-audit-forbidden.png'), fullPage: true })
  // And the keys page: the API's refusal, not an empty list.
  await vpage.click('nav >> text=API keys')
  await vpage.waitForSelector('[role=alert]')
  const refusedKeys = await vpage.textContent('[role=alert]')
  if (!/keys:manage/.test(refusedKeys)) throw new Error(`the viewer's keys page shows ${JSON.stringify(refusedKeys)}`)
  await viewer.close()

  step = 'revoke the key'
  page.once('dialog', (d) => d.accept())
  await page.click('button[aria-label="revoke dashboard-viewer"]')
  await page.waitForSelector('#keys-done >> text=revoked dashboard-viewer')
  if (await page.$('#keys td.name:text-is("dashboard-viewer")')) throw new Error('the revoked key is still listed')
  const after401 = await fetch(`${url}/sandboxes`, { headers: { 'X-API-Key': shown } })
  if (after401.status !== 401) throw new Error(`the revoked key is answered ${after401.status}`)
  await shot(page, '11-keys')

  step = 'the kill made above is in the audit log'
  await page.click('nav >> text=Audit log')
  const killRow = `#audit tr:has(td.action:text-is("DELETE /sandboxes/{id}")):has(td.target:has-text("${killedID}"))`
  await page.waitForSelector(killRow)
  if (!/^204/.test((await page.textContent(`${killRow} td.status`)).trim())) throw new Error(`the kill is logged as ${await page.textContent(`${killRow} td.status`)}`)
  await page.click('#audit-verify')
  await page.waitForSelector('#audit-verified')
  const verdict = await page.textContent('#audit-verified')
  if (!/The chain is whole/.test(verdict)) throw new Error(`verify shows ${JSON.stringify(verdict)}`)
  await shot(page, '11c-audit')

  step = 'a bad audit filter is shown with the API\'s message'
  await page.fill('input[name=since]', 'yesterday')
  await page.click('button:has-text("Filter")')
  const badSince = await page.textContent('[role=alert]:not(#audit-verified)')
  if (!/since "yesterday": want an RFC 3339 time or a duration/.test(badSince)) throw new Error(`a bad since shows ${JSON.stringify(badSince)}`)
  if (!(await page.isVisible('#audit'))) throw new Error('the log went away on a bad filter')

  step = 'node health'
  await page.click('nav >> text=Health')
  await page.waitForSelector('#checks >> text=store')
  const ready = await page.textContent('#ready')
  if (ready !== 'ready') throw new Error(`the node shows as ${JSON.stringify(ready)}`)
  await shot(page, '12-health')

  step = 'the team\'s quota on the health page'
  const teamID = (await (await fetch(`${url}/teams`, { headers: { 'X-API-Key': key } })).json())[0].teamID
  const setQuota = (q) =>
    fetch(`${url}/admin/teams/${encodeURIComponent(teamID)}/quota`, {
      method: 'PUT',
      headers: { 'X-API-Key': key, 'Content-Type': 'application/json' },
      body: JSON.stringify(q),
    }).then((r) => {
      if (!r.ok) throw new Error(`PUT quota: ${r.status}`)
    })
  await setQuota({ sandboxes: 7, cpus: 0, memoryMB: 0, buildMinutes: 45 })
  try {
    // The page reloads the quota every 5 s.
    await page.waitForSelector('#quota tr[data-resource=sandboxes] .limit >> text=7', { timeout: 15_000 })
    if ((await page.textContent('#quota tr[data-resource=cpus] .limit')) !== 'none') throw new Error('a zero CPU limit is not shown as none')
    if ((await page.textContent('#quota tr[data-resource=buildMinutes] .limit')) !== '45') throw new Error('the build-minute limit is not shown')
    if ((await page.textContent('#quota tr[data-resource=diskBytes] .limit')) !== 'none') throw new Error('a zero disk limit is not shown as none')
  } finally {
    await setQuota({ sandboxes: 0, cpus: 0, memoryMB: 0 })
  }

  step = 'an expired session goes back to sign-in with the reason'
  await page.evaluate(() => sessionStorage.setItem('soulbox.apiKey', 'e2b_' + 'f'.repeat(40)))
  await page.goto(url + '/dashboard/#/sandboxes')
  await page.waitForSelector('#apikey')
  const why = await page.textContent('[role=status]')
  if (!/signed out/.test(why)) throw new Error(`the sign-in page says ${JSON.stringify(why)}`)
  await shot(page, '13-signed-out')

  if (problems.length) throw new Error(problems.join('\n'))
  console.log(`dashboard: every step passed; screenshots in ${artifacts}`)
} catch (e) {
  console.error(`dashboard: step "${step}" failed: ${e.stack ?? e}`)
  await shot(page, 'failed').catch(() => {})
  if (problems.length) console.error(problems.join('\n'))
  process.exitCode = 1
} finally {
  if (sbx) await sbx.kill().catch(() => {})
  await browser.close()
  lines.return?.()
  process.stdin.destroy()
}
