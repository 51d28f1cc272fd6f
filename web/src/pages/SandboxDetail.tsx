import { useEffect, useMemo, useRef, useState } from 'react'
import { APIError, getJSON, LogEntry, Metric, SandboxDetail as Detail, send, streamEvents, SandboxEvent } from '../api'
import { age, errText } from '../format'
import { agentOf } from '../sandbox'
import { Terminal } from '../components/Terminal'
import { Files } from '../components/Files'
import { Processes } from '../components/Processes'
import { MetricsChart } from '../components/MetricsChart'

const ranges = [
  ['5m', 300],
  ['1h', 3600],
  ['all', 0],
] as const

// SandboxDetail shows one sandbox: its settings, lifecycle events with the
// end reason, metrics history, and, while it runs, a terminal and its
// files. It polls the API every 2 s.
export function SandboxDetail({ id }: { id: string }) {
  const [sb, setSb] = useState<Detail | null>(null)
  const [gone, setGone] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [logs, setLogs] = useState<LogEntry[]>([])
  const [metrics, setMetrics] = useState<Metric[]>([])
  const [range, setRange] = useState<number>(300)
  const [tab, setTab] = useState<'terminal' | 'files' | 'processes'>('terminal')
  const [events, setEvents] = useState<SandboxEvent[]>([])
  const [live, setLive] = useState<string | null>(null)
  const endedRef = useRef(false)

  // Lifecycle events come from GET /events, which, unlike the sandbox's
  // own routes, still speaks of it once it has ended, with the reason.
  useEffect(() => {
    const ac = new AbortController()
    streamEvents(ac.signal, (ev) => ev.sandboxID === id && setEvents((evs) => [...evs, ev]), setLive)
    return () => ac.abort()
  }, [id])

  useEffect(() => {
    let stop = false
    async function poll() {
      // Once it has ended, the sandbox's routes only answer 404.
      if (endedRef.current) {
        clearInterval(t)
        return
      }
      const q = range ? `?start=${Math.floor(Date.now() / 1000) - range}` : ''
      const [d, l, m] = await Promise.allSettled([
        getJSON<Detail>(`/sandboxes/${encodeURIComponent(id)}`),
        getJSON<{ logEntries: LogEntry[] }>(`/sandboxes/${encodeURIComponent(id)}/logs`),
        getJSON<Metric[]>(`/sandboxes/${encodeURIComponent(id)}/metrics${q}`),
      ])
      if (stop) return
      if (d.status === 'fulfilled') {
        setSb((old) => (old && old.state === d.value.state && old.envdAccessToken === d.value.envdAccessToken ? { ...old, ...d.value } : d.value))
        setError(null)
      } else if (d.reason instanceof APIError && d.reason.status === 404) {
        // An ended sandbox is no longer served; its events still are.
        // Nothing more to poll for.
        setGone(true)
        stop = true
        clearInterval(t)
        return
      } else setError(errText(d.reason))
      if (l.status === 'fulfilled') setLogs(l.value.logEntries ?? [])
      if (m.status === 'fulfilled') setMetrics(m.value ?? [])
    }
    const t = window.setInterval(poll, 2000)
    poll()
    return () => {
      stop = true
      clearInterval(t)
    }
  }, [id, range])

  const ended = events.find((ev) => ev.type === 'ended')
  endedRef.current = ended !== undefined
  const running = sb?.state === 'running' && !gone && !ended
  // One SDK handle per sandbox while it runs, so that the terminal
  // survives the polls.
  const agent = useMemo(() => (running && sb ? agentOf(sb) : null), [running, sb?.sandboxID, sb?.envdAccessToken])

  async function act(what: string, body?: unknown) {
    try {
      if (what === 'kill') await send('DELETE', `/sandboxes/${encodeURIComponent(id)}`)
      else await send('POST', `/sandboxes/${encodeURIComponent(id)}/${what}`, body ?? {})
      setError(null)
    } catch (e) {
      setError(`${what}: ${errText(e)}`)
    }
  }

  return (
    <section>
      <p>
        <a href="#/sandboxes">← Sandboxes</a>
      </p>
      <h1>
        Sandbox <code>{id}</code>
      </h1>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {ended && (
        <p className="endbanner" id="end-reason" role="status">
          Ended {new Date(ended.timestamp).toLocaleString()}: <strong>{ended.reason ?? 'unknown reason'}</strong>
          {ended.message ? ` (${ended.message})` : ''}
        </p>
      )}
      {sb && (
        <dl className="facts">
          <dt>State</dt>
          <dd>
            <span className={`state ${ended ? 'ended' : sb.state}`} id="state">
              {ended ? 'ended' : sb.state}
            </span>
          </dd>
          <dt>Template</dt>
          <dd>{sb.alias ?? sb.templateID}</dd>
          <dt>Started</dt>
          <dd>{age(sb.startedAt)} ago</dd>
          <dt>Ends</dt>
          <dd>{new Date(sb.endAt).toLocaleString()}</dd>
          <dt>Resources</dt>
          <dd>
            {sb.cpuCount} CPU, {sb.memoryMB} MiB memory, {sb.diskSizeMB} MiB disk
          </dd>
          <dt>Metadata</dt>
          <dd>
            {Object.entries(sb.metadata ?? {})
              .map(([k, v]) => `${k}=${v}`)
              .join(', ') || '—'}
          </dd>
        </dl>
      )}
      {sb && !ended && (
        <div className="actions">
          {sb.state === 'paused' ? <button onClick={() => act('resume')}>Resume</button> : <button onClick={() => act('pause')}>Pause</button>}
          <button
            onClick={() => {
              const s = prompt('New timeout in seconds from now', '300')
              if (s === null) return
              const n = Number(s)
              if (!Number.isInteger(n) || n <= 0) setError(`timeout ${JSON.stringify(s)}: enter a whole number of seconds greater than 0`)
              else act('timeout', { timeout: n })
            }}
          >
            Set timeout
          </button>
          <button className="danger" onClick={() => act('kill')}>
            Kill
          </button>
        </div>
      )}

      <h2>Metrics</h2>
      <div className="ranges" role="group" aria-label="Time range">
        {ranges.map(([label, s]) => (
          <button key={label} aria-pressed={range === s} onClick={() => setRange(s)}>
            {label}
          </button>
        ))}
        <span className="hint">{metrics.length} points</span>
      </div>
      <MetricsChart points={metrics} windowS={range} />

      {agent && sb && (
        <>
          <div className="tabs" role="tablist">
            <button role="tab" aria-selected={tab === 'terminal'} onClick={() => setTab('terminal')}>
              Terminal
            </button>
            <button role="tab" aria-selected={tab === 'files'} onClick={() => setTab('files')}>
              Files
            </button>
            <button role="tab" aria-selected={tab === 'processes'} onClick={() => setTab('processes')}>
              Processes
            </button>
          </div>
          {/* Both stay mounted: switching tabs keeps the shell. */}
          <div hidden={tab !== 'terminal'}>
            <Terminal agent={agent} />
          </div>
          <div hidden={tab !== 'files'}>
            <Files agent={agent} sb={sb} />
          </div>
          <div hidden={tab !== 'processes'}>
            <Processes agent={agent} shown={tab === 'processes'} />
          </div>
        </>
      )}

      <h2>Events</h2>
      {live && (
        <p className="error" role="alert">
          event stream: {live}
        </p>
      )}
      <table className="list" id="events">
        <tbody>
          {events.map((ev) => (
            <tr key={ev.id}>
              <td>{new Date(ev.timestamp).toLocaleTimeString()}</td>
              <td>{ev.type}</td>
              <td>{ev.reason ?? ''}</td>
              <td>{ev.message ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Agent log</h2>
      <pre className="log">
        {logs
          .filter((l) => l.fields?.source !== 'lifecycle')
          .map((l) => `${l.timestamp} ${l.level} ${l.message}`)
          .join('\n')}
      </pre>
    </section>
  )
}
