import { FormEvent, useCallback, useEffect, useRef, useState } from 'react'
import { getJSON, ListedSandbox, Metric, request, send, streamEvents } from '../api'
import { Spark } from '../components/Spark'
import { Spacer, useWindow } from '../components/Window'
import { age, errText } from '../format'
import { go } from '../route'

// The server's largest page of GET /v2/sandboxes.
const pageSize = 100

// Sandboxes is the live list: GET /v2/sandboxes with the server's
// filters, a page of 100 at a time, reloaded when GET /events reports a
// change. The next page is asked for when the list is scrolled near its
// end (or with "Load more"), and only the rows the window shows are
// rendered, so that a list of thousands stays quick.
export function Sandboxes() {
  const [state, setState] = useState('running,paused')
  const [template, setTemplate] = useState('')
  const [metadata, setMetadata] = useState('')
  const [filters, setFilters] = useState({ state: 'running,paused', template: '', metadata: '' })
  const [pages, setPages] = useState(1)
  const [rows, setRows] = useState<ListedSandbox[]>([])
  const [next, setNext] = useState<string | null>(null)
  const [loading, setLoading] = useState(false)
  const body = useRef<HTMLTableSectionElement>(null)
  const { start, end, rowHeight } = useWindow(body, rows.length)
  const [error, setError] = useState<string | null>(null)
  const [live, setLive] = useState<string | null>(null)
  const [tick, setTick] = useState(0)
  const [now, setNow] = useState(Date.now())
  const [selected, setSelected] = useState<Set<string>>(new Set())
  // Recent CPU and memory use of the listed sandboxes, from their latest
  // samples (GET /sandboxes/metrics) taken every 5 s while the page is open.
  const history = useRef(new Map<string, { at: number; cpu: number; mem: number }[]>())
  const [, setSamples] = useState(0)

  // load reads as many pages as are shown, from the first: a reload
  // after a change sees the sandboxes that came and went in all of them.
  const load = useCallback(async () => {
    const q = new URLSearchParams({ limit: String(pageSize) })
    if (filters.state) q.set('state', filters.state)
    if (filters.template) q.set('template', filters.template)
    if (filters.metadata) q.set('metadata', filters.metadata)
    setLoading(true)
    try {
      const all: ListedSandbox[] = []
      let token: string | null = ''
      for (let i = 0; i < pages && token !== null; i++) {
        if (token) q.set('nextToken', token)
        const res = await request(`/v2/sandboxes?${q}`)
        all.push(...(await res.json()))
        token = res.headers.get('X-Next-Token')
      }
      setRows(all)
      setNext(token)
      setError(null)
    } catch (e) {
      setError(errText(e))
    } finally {
      setLoading(false)
    }
  }, [filters, pages])

  useEffect(() => {
    load()
  }, [load, tick])

  // Lifecycle events mark the list stale; reloads are coalesced.
  useEffect(() => {
    const ac = new AbortController()
    let pending: number | undefined
    streamEvents(
      ac.signal,
      () => {
        if (pending === undefined)
          pending = window.setTimeout(() => {
            pending = undefined
            setTick((t) => t + 1)
          }, 300)
      },
      (status) => {
        setLive(status)
        // Back after a drop: what changed meanwhile may predate the
        // events still to come.
        if (status === null) setTick((t) => t + 1)
      },
    )
    const clock = window.setInterval(() => setNow(Date.now()), 1000)
    return () => {
      ac.abort()
      clearInterval(clock)
      if (pending !== undefined) clearTimeout(pending)
    }
  }, [])

  // Near the end of what is loaded: the next page.
  useEffect(() => {
    if (next && !loading && end >= rows.length - 10) setPages((p) => p + 1)
  }, [next, loading, end, rows.length])

  // Samples for the rows on screen only.
  const ids = rows
    .slice(start, end)
    .map((r) => r.sandboxID)
    .join(',')
  useEffect(() => {
    if (!ids) return
    let stop = false
    async function sample() {
      try {
        const m = await getJSON<{ sandboxes: Record<string, Metric> }>(`/sandboxes/metrics?sandbox_ids=${encodeURIComponent(ids)}`)
        if (stop) return
        for (const [id, x] of Object.entries(m.sandboxes ?? {})) {
          const h = history.current.get(id) ?? []
          if (h.length && h[h.length - 1].at === x.timestampUnix) continue
          h.push({ at: x.timestampUnix, cpu: x.cpuUsedPct, mem: x.memTotal ? (100 * x.memUsed) / x.memTotal : 0 })
          history.current.set(id, h.slice(-24))
        }
        setSamples((n) => n + 1)
      } catch {
        // the list shows the API's errors; sparklines just wait
      }
    }
    sample()
    const t = window.setInterval(sample, 5000)
    return () => {
      stop = true
      clearInterval(t)
    }
  }, [ids])

  function applyFilters(e: FormEvent) {
    e.preventDefault()
    setFilters({ state, template: template.trim(), metadata: metadata.trim() })
    setPages(1)
  }

  async function act(ids: string[], what: string) {
    let timeout = 0
    if (what === 'timeout') {
      const s = prompt('New timeout in seconds from now', '300')
      if (s === null) return
      timeout = Number(s)
      if (!Number.isInteger(timeout) || timeout <= 0) {
        setError(`timeout ${JSON.stringify(s)}: enter a whole number of seconds greater than 0`)
        return
      }
    }
    const errs: string[] = []
    for (const id of ids) {
      try {
        if (what === 'kill') await send('DELETE', `/sandboxes/${encodeURIComponent(id)}`)
        else if (what === 'pause') await send('POST', `/sandboxes/${encodeURIComponent(id)}/pause`, {})
        else if (what === 'resume') await send('POST', `/sandboxes/${encodeURIComponent(id)}/resume`, {})
        else if (what === 'timeout') await send('POST', `/sandboxes/${encodeURIComponent(id)}/timeout`, { timeout })
      } catch (e) {
        errs.push(`${id}: ${errText(e)}`)
      }
    }
    setError(errs.length ? `${what} failed: ${errs.join('; ')}` : null)
    setSelected(new Set())
    setTick((t) => t + 1)
  }

  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s)
      if (n.has(id)) n.delete(id)
      else n.add(id)
      return n
    })

  return (
    <section>
      <h1>Sandboxes</h1>
      <form className="filters" onSubmit={applyFilters}>
        <label>
          State{' '}
          <select value={state} onChange={(e) => setState(e.target.value)}>
            <option value="running,paused">running or paused</option>
            <option value="running">running</option>
            <option value="paused">paused</option>
          </select>
        </label>
        <label>
          Template <input value={template} onChange={(e) => setTemplate(e.target.value)} placeholder="any" />
        </label>
        <label>
          Metadata <input value={metadata} onChange={(e) => setMetadata(e.target.value)} placeholder="key=value&amp;k2=v2" />
        </label>
        <button type="submit">Filter</button>
        <span className="live" role="status">
          {live ? `event stream: ${live}` : 'live'}
        </span>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="bulk" aria-label="Bulk actions">
        {selected.size} selected{' '}
        {(['pause', 'resume', 'timeout', 'kill'] as const).map((a) => (
          <button key={a} disabled={selected.size === 0} onClick={() => act([...selected], a)}>
            {a === 'timeout' ? 'set timeout' : a}
          </button>
        ))}
      </div>
      <table className="list" id="sandboxes">
        <thead>
          <tr>
            <th>
              <input
                type="checkbox"
                aria-label="select all"
                checked={rows.length > 0 && selected.size === rows.length}
                onChange={(e) => setSelected(e.target.checked ? new Set(rows.map((r) => r.sandboxID)) : new Set())}
              />
            </th>
            <th>Sandbox</th>
            <th>State</th>
            <th>Template</th>
            <th>Age</th>
            <th>Ends in</th>
            <th>CPU</th>
            <th>Memory</th>
            <th>Metadata</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody ref={body}>
          <Spacer n={start} rowHeight={rowHeight} cols={10} />
          {rows.slice(start, end).map((sb) => (
            <tr key={sb.sandboxID} data-sandbox={sb.sandboxID} data-row>
              <td>
                <input
                  type="checkbox"
                  aria-label={`select ${sb.sandboxID}`}
                  checked={selected.has(sb.sandboxID)}
                  onChange={() => toggle(sb.sandboxID)}
                />
              </td>
              <td>
                <a href={`#/sandboxes/${encodeURIComponent(sb.sandboxID)}`}>{sb.sandboxID}</a>
              </td>
              <td>
                <span className={`state ${sb.state}`}>{sb.state}</span>
              </td>
              <td>{sb.alias ?? sb.templateID}</td>
              <td>{age(sb.startedAt, now)}</td>
              <td>{sb.state === 'running' ? age(new Date(now).toISOString(), Date.parse(sb.endAt)) : '—'}</td>
              <td>
                <Spark label="CPU" max={100} values={(history.current.get(sb.sandboxID) ?? []).map((h) => h.cpu)} />
              </td>
              <td>
                <Spark label="memory" max={100} values={(history.current.get(sb.sandboxID) ?? []).map((h) => h.mem)} />
              </td>
              <td className="meta">
                {Object.entries(sb.metadata ?? {})
                  .map(([k, v]) => `${k}=${v}`)
                  .join(', ')}
              </td>
              <td className="actions">
                {sb.state === 'paused' ? (
                  <button onClick={() => act([sb.sandboxID], 'resume')}>resume</button>
                ) : (
                  <button onClick={() => act([sb.sandboxID], 'pause')}>pause</button>
                )}
                <button onClick={() => act([sb.sandboxID], 'timeout')}>timeout</button>
                <button className="danger" onClick={() => act([sb.sandboxID], 'kill')}>
                  kill
                </button>
                <button onClick={() => go('sandboxes', sb.sandboxID)}>open</button>
              </td>
            </tr>
          ))}
          <Spacer n={rows.length - end} rowHeight={rowHeight} cols={10} />
        </tbody>
      </table>
      {rows.length === 0 && !error && !loading && <p className="empty">No sandboxes match.</p>}
      <div className="pager">
        <span id="sandbox-count">
          {rows.length} {next ? 'loaded' : rows.length === 1 ? 'sandbox' : 'sandboxes'}
        </span>{' '}
        <button disabled={!next || loading} onClick={() => setPages((p) => p + 1)}>
          {loading ? 'Loading…' : 'Load more'}
        </button>
      </div>
    </section>
  )
}
