import { FormEvent, useCallback, useEffect, useState } from 'react'
import { APIError, getJSON, send } from '../api'
import { errText } from '../format'

interface Key {
  id: string
  name: string
  createdAt?: string
  lastUsed?: string | null
  mask?: { maskedValuePrefix?: string; maskedValueSuffix?: string }
}

// Keys manages the team's API keys with E2B's /api-keys routes: list,
// create (the key is shown once, here, and never stored by the page) and
// revoke. A server without those routes says so, and how to manage keys
// instead.
export function Keys() {
  const [keys, setKeys] = useState<Key[] | null>(null)
  const [missing, setMissing] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [name, setName] = useState('')
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null)

  const load = useCallback(async () => {
    try {
      setKeys(await getJSON<Key[]>('/api-keys'))
      setError(null)
    } catch (e) {
      if (e instanceof APIError && e.status === 404) setMissing(true)
      else setError(errText(e))
    }
  }, [])
  useEffect(() => {
    load()
  }, [load])

  async function create(e: FormEvent) {
    e.preventDefault()
    if (!name.trim()) {
      setError('enter a name for the key, such as the app that will use it')
      return
    }
    try {
      const k = await send<{ name: string; key: string }>('POST', '/api-keys', { name: name.trim() })
      if (k) setCreated({ name: k.name, key: k.key })
      setName('')
      load()
    } catch (e) {
      setError(`create: ${errText(e)}`)
    }
  }

  async function revoke(k: Key) {
    if (!confirm(`Revoke the key ${k.name}? Clients using it stop working at once.`)) return
    try {
      await send('DELETE', `/api-keys/${encodeURIComponent(k.id)}`)
      load()
    } catch (e) {
      setError(`revoke ${k.name}: ${errText(e)}`)
    }
  }

  if (missing)
    return (
      <section>
        <h1>API keys</h1>
        <p className="notice" id="keys-missing">
          This server has no API key routes (GET /api-keys answered 404). Create and revoke keys on the server host with{' '}
          <code>soulbox keys create NAME</code> and <code>soulbox keys revoke ID</code>.
        </p>
      </section>
    )
  return (
    <section>
      <h1>API keys</h1>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {created && (
        <div className="panel" role="status" id="created-key">
          <p>
            The key <strong>{created.name}</strong>, shown only this once: copy it now.
          </p>
          <pre>{created.key}</pre>
          <button onClick={() => setCreated(null)}>I have copied it</button>
        </div>
      )}
      <form className="filters" onSubmit={create}>
        <label>
          Name <input value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <button type="submit">Create key</button>
      </form>
      <table className="list" id="keys">
        <tbody>
          {(keys ?? []).map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td>
                <code>
                  {k.mask ? `${k.mask.maskedValuePrefix ?? ''}…${k.mask.maskedValueSuffix ?? ''}` : k.id}
                </code>
              </td>
              <td>{k.createdAt ? new Date(k.createdAt).toLocaleString() : ''}</td>
              <td>{k.lastUsed ? `used ${new Date(k.lastUsed).toLocaleString()}` : 'never used'}</td>
              <td>
                <button className="danger" onClick={() => revoke(k)}>
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
