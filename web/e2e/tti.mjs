// Measures the sandboxes page's time to interactive in headless
// Chromium (the system's, through playwright-core) against a running
// SoulBox server, and prints it; tests/dashboard's benchmark runs it with:
//   SOULBOX_URL       the server, e.g. http://127.0.0.1:3000
//   SOULBOX_API_KEY   a key the server issued
//   CHROMIUM          the Chromium binary
//   EXPECT            how many sandboxes the server lists
//   RUNS              how many cold loads to time (default 5)
//   SYNTH             if set, a count of list entries to answer
//                     GET /v2/sandboxes with instead of the server's:
//                     copies of the server's first row with their own
//                     ids and start times, paginated as the server does
//                     (100 a page, X-Next-Token); every other request
//                     goes to the server.
// Time to interactive here is from the navigation's start to the first
// rows on screen with the main thread idle after them (an idle callback
// runs), in a fresh browser context each run: the page's scripts, the
// first page of GET /v2/sandboxes and its render. It then scrolls to the
// end, which loads every page, and times that too, and counts the rows
// in the document to show that only those on screen are rendered.
// Prints one line "tti: {json}" per run.
import { chromium } from 'playwright-core'

const { SOULBOX_URL: url, SOULBOX_API_KEY: key, CHROMIUM: executablePath } = process.env
const expect = Number(process.env.EXPECT)
const runs = Number(process.env.RUNS || 5)
const synth = Number(process.env.SYNTH || 0)
if (!url || !key || !executablePath || !(expect >= 0)) throw new Error('set SOULBOX_URL, SOULBOX_API_KEY, CHROMIUM and EXPECT')

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'], timeout: 30_000 })
try {
  for (let run = 0; run < runs; run++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    // Signed in as the sign-in page would leave it: the key in this
    // tab's session storage.
    await context.addInitScript((k) => sessionStorage.setItem('soulbox.apiKey', k), key)
    if (synth) {
      let model = null
      await context.route(/\/v2\/sandboxes\?/, async (route) => {
        if (!model) {
          const real = await (await route.fetch()).json()
          if (!real[0]) throw new Error('SYNTH needs a sandbox on the server to copy')
          model = real[0]
        }
        const q = new URL(route.request().url()).searchParams
        const limit = Number(q.get('limit') || 100)
        const from = Number(q.get('nextToken') || 0)
        const rows = []
        for (let i = from; i < Math.min(synth, from + limit); i++)
          rows.push({
            ...model,
            sandboxID: `synth${String(i).padStart(6, '0')}`,
            startedAt: new Date(Date.parse(model.startedAt) - i * 1000).toISOString(),
            metadata: { purpose: 'tti', n: String(i) },
          })
        const headers = { 'content-type': 'application/json' }
        if (from + limit < synth) headers['x-next-token'] = String(from + limit)
        await route.fulfill({ status: 200, headers, body: JSON.stringify(rows) })
      })
    }
    const page = await context.newPage()
    page.setDefaultTimeout(60_000)
    const errors = []
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('console', (m) => m.type() === 'error' && !/ERR_NETWORK_CHANGED/.test(m.text()) && errors.push(m.text()))
    await page.goto(`${url}/dashboard/#/sandboxes`, { waitUntil: 'commit' })
    await page.waitForSelector(expect > 0 ? '#sandboxes tr[data-row]' : '#sandboxes')
    const tti = await page.evaluate(() => new Promise((r) => requestIdleCallback(() => r(performance.now()), { timeout: 10_000 })))
    const rendered = await page.$$eval('#sandboxes tr[data-row]', (rs) => rs.length)
    // To the end: every page loaded, the last row on screen.
    const t0 = await page.evaluate(() => performance.now())
    const want = `${expect} ${expect === 1 ? 'sandbox' : 'sandboxes'}`
    for (;;) {
      await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight))
      if ((await page.textContent('#sandbox-count')).trim() === want) break
      await page.waitForTimeout(50)
    }
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight))
    await page.waitForFunction(() => {
      const rows = document.querySelectorAll('#sandboxes tr[data-row]')
      const last = rows[rows.length - 1]
      return last && last.getBoundingClientRect().bottom <= window.innerHeight + 1
    })
    const t1 = await page.evaluate(() => new Promise((r) => requestIdleCallback(() => r(performance.now()), { timeout: 10_000 })))
    const renderedAtEnd = await page.$$eval('#sandboxes tr[data-row]', (rs) => rs.length)
    if (errors.length) throw new Error(`the page reported errors: ${errors.join('; ')}`)
    console.log(
      'tti: ' +
        JSON.stringify({ run, sandboxes: expect, ttiMs: Math.round(tti), allLoadedMs: Math.round(t1 - t0), rowsRendered: rendered, rowsRenderedAtEnd: renderedAtEnd }),
    )
    await context.close()
  }
} finally {
  await browser.close()
}
