import { useCallback, useEffect, useState } from 'react'
import type { Sandbox } from 'e2b'
import { errText } from '../format'

interface Proc {
  pid: number
  cmd: string
  args: string[]
  tag?: string
  cwd?: string
}

// Processes lists the processes the agent started (commands and
// terminals) and kills one, with the SDK's process service. It reloads
// every 3 s while shown.
export function Processes({ agent, shown }: { agent: Sandbox; shown: boolean }) {
  const [procs, setProcs] = useState<Proc[]>([])
  const [error, setError] = useState<string | null>(null)
  const load = useCallback(async () => {
    try {
      const l = await agent.commands.list()
      l.sort((a, b) => a.pid - b.pid)
      setProcs(l.map((p) => ({ pid: p.pid, cmd: p.cmd, args: p.args, tag: p.tag, cwd: p.cwd })))
      setError(null)
    } catch (e) {
      setError(errText(e))
    }
  }, [agent])
  useEffect(() => {
    if (!shown) return
    load()
    const t = window.setInterval(load, 3000)
    return () => clearInterval(t)
  }, [shown, load])
  async function kill(p: Proc) {
    try {
      if (!(await agent.commands.kill(p.pid))) setError(`process ${p.pid} had already ended`)
    } catch (e) {
      setError(`kill ${p.pid}: ${errText(e)}`)
    }
    load()
  }
  return (
    <div id="processes">
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <table className="list">
        <thead>
          <tr>
            <th>PID</th>
            <th>Command</th>
            <th>Directory</th>
            <th>Tag</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {procs.map((p) => (
            <tr key={p.pid} data-pid={p.pid}>
              <td>{p.pid}</td>
              <td>
                <code>{[p.cmd, ...p.args].join(' ')}</code>
              </td>
              <td>{p.cwd ?? ''}</td>
              <td>{p.tag ?? ''}</td>
              <td>
                <button className="danger" onClick={() => kill(p)} aria-label={`kill process ${p.pid}`}>
                  kill
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {procs.length === 0 && !error && <p className="empty">No processes started through the agent.</p>}
    </div>
  )
}
