import { useEffect, useRef, useState } from 'react'
import { BuildLogs, getJSON, Template } from '../api'
import { bytes, errText } from '../format'

// Templates lists the team's templates and follows a build's log with
// GET /templates/{id}/builds/{buildID}/status?logsOffset=, as the SDK's
// build does.
export function Templates() {
  const [list, setList] = useState<Template[]>([])
  const [error, setError] = useState<string | null>(null)
  const [open, setOpen] = useState<{ id: string; build: string } | null>(null)
  // Reloaded every 5 s, so that builds started elsewhere show up and
  // their status moves.
  useEffect(() => {
    const load = () =>
      getJSON<Template[]>('/templates')
        .then((l) => {
          setList(l)
          setError(null)
        })
        .catch((e) => setError(errText(e)))
    load()
    const t = window.setInterval(load, 5000)
    return () => clearInterval(t)
  }, [])
  return (
    <section>
      <h1>Templates</h1>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <table className="list" id="templates">
        <thead>
          <tr>
            <th>Template</th>
            <th>Names</th>
            <th>Status</th>
            <th>Size</th>
            <th>Resources</th>
            <th>Updated</th>
            <th>Build log</th>
          </tr>
        </thead>
        <tbody>
          {list.map((t) => (
            <tr key={t.templateID}>
              <td>
                <code>{t.templateID}</code>
                {t.public ? ' (public)' : ''}
              </td>
              <td>{(t.names ?? t.aliases ?? []).join(', ')}</td>
              <td>
                <span className={`state ${t.buildStatus}`}>{t.buildStatus}</span>
              </td>
              <td>{t.sizeBytes ? bytes(t.sizeBytes) : '—'}</td>
              <td>
                {t.cpuCount} CPU, {t.memoryMB} MiB
              </td>
              <td>{t.updatedAt ? new Date(t.updatedAt).toLocaleString() : ''}</td>
              <td>
                {t.buildID && (
                  <button className="link" onClick={() => setOpen({ id: t.templateID, build: t.buildID! })}>
                    view
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.length === 0 && !error && <p className="empty">No templates.</p>}
      {open && <BuildLog key={open.build} id={open.id} build={open.build} onClose={() => setOpen(null)} />}
    </section>
  )
}

function BuildLog({ id, build, onClose }: { id: string; build: string; onClose: () => void }) {
  const [lines, setLines] = useState<string[]>([])
  const [status, setStatus] = useState('')
  const [reason, setReason] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const pre = useRef<HTMLPreElement>(null)
  useEffect(() => {
    let offset = 0
    let stop = false
    async function poll() {
      while (!stop) {
        try {
          const b = await getJSON<BuildLogs>(
            `/templates/${encodeURIComponent(id)}/builds/${encodeURIComponent(build)}/status?logsOffset=${offset}&limit=100`,
          )
          if (stop) return
          const entries = b.logEntries ?? []
          offset += entries.length
          if (entries.length) setLines((l) => [...l, ...entries.map((e) => `${e.timestamp} ${e.level} ${e.message}`)])
          setStatus(b.status ?? '')
          setReason(b.reason?.message ?? null)
          setError(null)
          if (entries.length === 100) continue
          if (b.status !== 'building' && b.status !== 'waiting') return
        } catch (e) {
          setError(errText(e))
        }
        await new Promise((r) => setTimeout(r, 1000))
      }
    }
    poll()
    return () => {
      stop = true
    }
  }, [id, build])
  useEffect(() => {
    pre.current?.scrollTo(0, pre.current.scrollHeight)
  }, [lines])
  return (
    <div className="panel" id="build-log">
      <h2>
        Build <code>{build}</code> of <code>{id}</code>: <span id="build-status">{status}</span>{' '}
        <button className="link" onClick={onClose}>
          close
        </button>
      </h2>
      {reason && (
        <p className="error" role="alert">
          {reason}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <pre className="log" ref={pre}>
        {lines.join('\n') || 'no log lines'}
      </pre>
    </div>
  )
}
