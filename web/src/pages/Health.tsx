import { useEffect, useState } from 'react'
import { errText } from '../format'
import { Quota } from '../components/Quota'

interface Health {
  status: string
  version: string
  runtime: string
  templates: Record<string, string>
  pool?: {
    template: string
    min: number
    max: number
    ready: number
    filling: number
    target: number
    hits: number
    misses: number
    failures: number
    demandPerSecond: number
    refillMs: number
  }[]
}

interface Ready {
  status: string
  checks: { name: string; ok: boolean; message: string }[]
}

// Health shows the node's readiness checks (GET /ready) and its warm
// pool and templates (GET /health), refreshed every 5 s. Both answer
// without a key, as for a load balancer; that 503 means "not ready" is
// shown, not treated as a failure. The team's quota and usage (GET
// /quota) need the key, as the rest of the API does.
export function HealthPage() {
  const [health, setHealth] = useState<Health | null>(null)
  const [ready, setReady] = useState<Ready | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    let stop = false
    async function load() {
      try {
        const [h, r] = await Promise.all([fetch('/health'), fetch('/ready')])
        if (stop) return
        setHealth(await h.json())
        setReady(await r.json())
        setError(null)
      } catch (e) {
        if (!stop) setError(`the server cannot be reached: ${errText(e)}`)
      }
    }
    load()
    const t = window.setInterval(load, 5000)
    return () => {
      stop = true
      clearInterval(t)
    }
  }, [])
  return (
    <section>
      <h1>Node health</h1>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {health && (
        <dl className="facts">
          <dt>Version</dt>
          <dd>{health.version}</dd>
          <dt>Runtime</dt>
          <dd>{health.runtime}</dd>
          <dt>Ready</dt>
          <dd>
            <span className={`state ${ready?.status === 'ready' ? 'ready' : 'error'}`} id="ready">
              {ready?.status ?? '…'}
            </span>
          </dd>
        </dl>
      )}
      {ready && (
        <table className="list" id="checks">
          <thead>
            <tr>
              <th>Check</th>
              <th>OK</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {ready.checks.map((c) => (
              <tr key={c.name}>
                <td>{c.name}</td>
                <td className={`state ${c.ok ? 'ready' : 'error'}`}>{c.ok ? 'yes' : 'no'}</td>
                <td>{c.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Quota />
      <h2>Warm pool</h2>
      <table className="list" id="pool">
        <thead>
          <tr>
            <th>Template</th>
            <th>Ready</th>
            <th>Filling</th>
            <th>Target (min–max)</th>
            <th>Hits / misses</th>
            <th>Failures</th>
            <th>Demand</th>
            <th>Refill</th>
          </tr>
        </thead>
        <tbody>
          {(health?.pool ?? []).map((p) => (
            <tr key={p.template}>
              <td>{p.template}</td>
              <td>{p.ready}</td>
              <td>{p.filling}</td>
              <td>
                {p.target} ({p.min}–{p.max})
              </td>
              <td>
                {p.hits} / {p.misses}
              </td>
              <td>{p.failures}</td>
              <td>{p.demandPerSecond.toFixed(2)}/s</td>
              <td>{p.refillMs.toFixed(0)} ms</td>
            </tr>
          ))}
        </tbody>
      </table>
      {health && !health.pool?.length && <p className="empty">No template is pooled.</p>}
      <h2>Templates on this node</h2>
      <table className="list">
        <tbody>
          {Object.entries(health?.templates ?? {}).map(([name, state]) => (
            <tr key={name}>
              <td>{name}</td>
              <td>
                <span className={`state ${state}`}>{state}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
