import { useEffect, useState } from 'react'
import { getJSON } from '../api'
import { errText } from '../format'

interface QuotaAnswer {
  teamID: string
  quota: { sandboxes: number; cpus: number; memoryMB: number; diskBytes: number; buildMinutes: number }
  usage: { sandboxes: number; cpus: number; memoryMB: number; diskBytes: number; buildMinutes: number }
  buildWindowDays: number
}

// Quota shows the signed-in key's team's quota and what its live
// (starting, running and paused) sandboxes hold, its templates and
// snapshots occupy and its builds spent, from GET /quota, refreshed
// every 5 s. A zero limit is none.
export function Quota() {
  const [q, setQ] = useState<QuotaAnswer | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    let stop = false
    async function load() {
      try {
        const a = await getJSON<QuotaAnswer>('/quota')
        if (stop) return
        setQ(a)
        setError(null)
      } catch (e) {
        if (!stop) setError(`quota: ${errText(e)}`)
      }
    }
    load()
    const t = window.setInterval(load, 5000)
    return () => {
      stop = true
      clearInterval(t)
    }
  }, [])
  const rows = [
    ['Sandboxes', 'sandboxes', ''],
    ['vCPUs', 'cpus', ''],
    ['Memory', 'memoryMB', ' MiB'],
    ['Template and snapshot disk', 'diskBytes', ' bytes'],
    [`Build minutes (${q?.buildWindowDays ?? 30} days)`, 'buildMinutes', ''],
  ] as const
  return (
    <>
      <h2>Team quota{q ? `: ${q.teamID}` : ''}</h2>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {q && (
        <table className="list" id="quota">
          <thead>
            <tr>
              <th>Resource</th>
              <th>In use</th>
              <th>Limit</th>
              <th>Used</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([label, k, unit]) => {
              const used = q.usage[k]
              const limit = q.quota[k]
              const pct = limit > 0 ? Math.min(100, (100 * used) / limit) : null
              return (
                <tr key={k} data-resource={k}>
                  <td>{label}</td>
                  <td className="used">
                    {used}
                    {unit}
                  </td>
                  <td className="limit">{limit > 0 ? `${limit}${unit}` : 'none'}</td>
                  <td>
                    {pct === null ? (
                      '—'
                    ) : (
                      <meter min={0} max={100} low={70} high={90} optimum={0} value={pct} aria-label={`${label} used`}>
                        {pct.toFixed(0)}%
                      </meter>
                    )}
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      )}
    </>
  )
}
