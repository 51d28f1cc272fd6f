import { FormEvent, useCallback, useEffect, useRef, useState } from 'react'
import { APIError, getJSON } from '../api'
import { errText } from '../format'
import { Spacer, useWindow } from '../components/Window'

interface Entry {
  id: number
  time: string
  team: string
  keyID: string
  keyPrefix: string
  action: string
  target: string
  remote: string
  status: number
  message?: string
}

// What GET /audit/verify answers: ok, and what was checked. Fields this
// page does not know are shown as they come.
type Verified = { ok: boolean; entries?: number; head?: string; badID?: number; problem?: string } & Record<string, unknown>

const pageSize = 1000

// Audit shows the audit log (GET /audit): every state-changing call and
// every refused credential, oldest first, filtered by how far back and,
// for server admins, by team; pages on with the last entry's id. Verify
// checks the log's hash chain (GET /audit/verify, server admins). A key
// that may not read the log gets the API's reason and what would.
export function Audit() {
  const [since, setSince] = useState('24h')
  const [team, setTeam] = useState('')
  const [filters, setFilters] = useState({ since: '24h', team: '' })
  const [after, setAfter] = useState<number[]>([0])
  const [entries, setEntries] = useState<Entry[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [forbidden, setForbidden] = useState<string | null>(null)
  const [verified, setVerified] = useState<Verified | null>(null)
  const [verifyError, setVerifyError] = useState<string | null>(null)
  const body = useRef<HTMLTableSectionElement>(null)
  const rows = entries ?? []
  // A page is up to 1,000 entries: only those on screen are rendered.
  const { start, end, rowHeight } = useWindow(body, rows.length)

  const load = useCallback(async () => {
    const q = new URLSearchParams({ limit: String(pageSize) })
    if (filters.since) q.set('since', filters.since)
    if (filters.team) q.set('team', filters.team)
    const a = after[after.length - 1]
    if (a) q.set('after', String(a))
    try {
      setEntries(await getJSON<Entry[]>(`/audit?${q}`))
      setError(null)
      setForbidden(null)
    } catch (e) {
      if (e instanceof APIError && e.status === 403) setForbidden(e.message)
      else setError(errText(e))
    }
  }, [filters, after])
  useEffect(() => {
    load()
  }, [load])

  function apply(e: FormEvent) {
    e.preventDefault()
    setFilters({ since: since.trim(), team: team.trim() })
    setAfter([0])
  }

  async function verify() {
    setVerified(null)
    setVerifyError(null)
    try {
      setVerified(await getJSON<Verified>('/audit/verify'))
    } catch (e) {
      setVerifyError(
        e instanceof APIError && e.status === 403
          ? `only a server admin's key may verify the log: ${e.message}`
          : `verify: ${errText(e)}`,
      )
    }
  }

  if (forbidden)
    return (
      <section>
        <h1>Audit log</h1>
        <p className="notice" id="audit-forbidden" role="alert">
          This key may not read the audit log: {forbidden}. A team's owner and admin keys read its log; server admins read
          every team's.
        </p>
      </section>
    )
  return (
    <section>
      <h1>Audit log</h1>
      <form className="filters" onSubmit={apply}>
        <label>
          Since{' '}
          <input
            name="since"
            value={since}
            onChange={(e) => setSince(e.target.value)}
            placeholder="24h or 2026-01-02T15:04:05Z"
            aria-describedby="since-hint"
          />
        </label>
        <label>
          Team <input name="team" value={team} onChange={(e) => setTeam(e.target.value)} placeholder="own" />
        </label>
        <button type="submit">Filter</button>
        <button type="button" onClick={verify} id="audit-verify">
          Verify the chain
        </button>
      </form>
      <p className="hint" id="since-hint">
        Since: a duration back from now (1h, 24h) or an RFC 3339 time; empty for the whole log. Team: server admins only.
      </p>
      {verifyError && (
        <p className="error" role="alert" id="audit-verified">
          {verifyError}
        </p>
      )}
      {verified && (
        <div className={verified.ok ? 'panel' : 'panel error'} role="status" id="audit-verified">
          {verified.ok ? (
            <p>
              The chain is whole: {verified.entries ?? '?'} entries checked.
            </p>
          ) : (
            <p>
              The chain is broken at entry {verified.badID}: {verified.problem}
            </p>
          )}
          <pre>{JSON.stringify(verified, null, 2)}</pre>
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <table className="list" id="audit">
        <thead>
          <tr>
            <th>#</th>
            <th>Time</th>
            <th>Team</th>
            <th>Key</th>
            <th>Action</th>
            <th>Target</th>
            <th>Status</th>
            <th>From</th>
          </tr>
        </thead>
        <tbody ref={body}>
          <Spacer n={start} rowHeight={rowHeight} cols={8} />
          {rows.slice(start, end).map((e) => (
            <tr key={e.id} data-audit={e.id} data-row>
              <td>{e.id}</td>
              <td>{new Date(e.time).toLocaleString()}</td>
              <td>{e.team || '—'}</td>
              <td>
                <code>{e.keyPrefix ? `${e.keyPrefix}…` : '—'}</code>
              </td>
              <td className="action">{e.action}</td>
              <td className="target" title={e.target}>
                <code>{e.target}</code>
              </td>
              <td className={e.status >= 400 ? 'status error' : 'status'} title={e.message}>
                {e.status}
                {e.message ? `: ${e.message}` : ''}
              </td>
              <td>{e.remote}</td>
            </tr>
          ))}
          <Spacer n={rows.length - end} rowHeight={rowHeight} cols={8} />
        </tbody>
      </table>
      {entries !== null && rows.length === 0 && !error && <p className="empty">No entries in this range.</p>}
      <div className="pager">
        <button disabled={after.length < 2} onClick={() => setAfter((a) => a.slice(0, -1))}>
          Previous
        </button>
        <button
          disabled={rows.length < pageSize}
          onClick={() => rows.length && setAfter((a) => [...a, rows[rows.length - 1].id])}
        >
          Next
        </button>
      </div>
    </section>
  )
}
