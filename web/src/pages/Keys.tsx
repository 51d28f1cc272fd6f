import { FormEvent, useCallback, useEffect, useState } from 'react'
import { getJSON, send } from '../api'
import { errText } from '../format'

interface Key {
  id: string
  name: string
  role?: string
  scopes?: string[]
  createdAt?: string
  lastUsed?: string | null
  mask?: { prefix?: string; maskedValuePrefix?: string }
}

// The roles POST /api-keys takes, least first; a key may not hand out a
// role above its own (the server says so when it does).
const roles = ['viewer', 'developer', 'admin', 'owner'] as const

// Keys manages the team's API keys with E2B's /api-keys routes: list,
// create with a role (the key is shown once, here, and never stored by
// the page), rename and revoke. The API's refusals (a role above the
// caller's, a key without keys:manage) are shown as it words them.
export function Keys() {
  const [keys, setKeys] = useState<Key[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [name, setName] = useState('')
  const [role, setRole] = useState<string>('developer')
  const [created, setCreated] = useState<{ name: string; role: string; key: string } | null>(null)
  const [done, setDone] = useState<string | null>(null)

  const load = useCallback(async () => {
    try {
      setKeys(await getJSON<Key[]>('/api-keys'))
      setError(null)
    } catch (e) {
      setError(errText(e))
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
      const k = await send<{ name: string; role: string; key: string }>('POST', '/api-keys', { name: name.trim(), role })
      if (k) setCreated({ name: k.name, role: k.role, key: k.key })
      setName('')
      setDone(null)
      await load()
    } catch (e) {
      setError(`create: ${errText(e)}`)
    }
  }

  async function rename(k: Key) {
    const to = prompt(`New name for the key ${k.name}`, k.name)
    if (to === null) return
    if (!to.trim()) {
      setError('rename: enter a name')
      return
    }
    try {
      await send('PATCH', `/api-keys/${encodeURIComponent(k.id)}`, { name: to.trim() })
      // The list first: the message never stands beside the old name.
      await load()
      setDone(`renamed ${k.name} to ${to.trim()}`)
    } catch (e) {
      setError(`rename ${k.name}: ${errText(e)}`)
    }
  }

  async function revoke(k: Key) {
    if (!confirm(`Revoke the key ${k.name}? Clients using it stop working at once.`)) return
    try {
      await send('DELETE', `/api-keys/${encodeURIComponent(k.id)}`)
      // The list first: the message never stands beside the revoked key.
      await load()
      setDone(`revoked ${k.name}`)
    } catch (e) {
      setError(`revoke ${k.name}: ${errText(e)}`)
    }
  }

  return (
    <section>
      <h1>API keys</h1>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {done && (
        <p className="hint" role="status" id="keys-done">
          {done}
        </p>
      )}
      {created && (
        <div className="panel" role="status" id="created-key">
          <p>
            The {created.role} key <strong>{created.name}</strong>, shown only this once: copy it now.
          </p>
          <pre>{created.key}</pre>
          <button onClick={() => setCreated(null)}>I have copied it</button>
        </div>
      )}
      <form className="filters" id="new-key" onSubmit={create}>
        <label>
          Name <input name="name" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Role{' '}
          <select name="role" value={role} onChange={(e) => setRole(e.target.value)}>
            {roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Create key</button>
      </form>
      <table className="list" id="keys">
        <thead>
          <tr>
            <th>Name</th>
            <th>Key</th>
            <th>Role</th>
            <th>Created</th>
            <th>Last used</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {(keys ?? []).map((k) => (
            <tr key={k.id} data-key={k.id}>
              <td className="name">{k.name}</td>
              <td>
                <code>
                  {k.mask ? `${k.mask.prefix ?? ''}${k.mask.maskedValuePrefix ?? ''}…` : k.id}
                </code>
              </td>
              <td>
                {k.role ?? ''}
                {k.scopes && k.scopes.length > 0 ? ` (${k.scopes.join(', ')})` : ''}
              </td>
              <td>{k.createdAt ? new Date(k.createdAt).toLocaleString() : ''}</td>
              <td>{k.lastUsed ? new Date(k.lastUsed).toLocaleString() : 'never'}</td>
              <td className="actions">
                <button onClick={() => rename(k)} aria-label={`rename ${k.name}`}>
                  Rename
                </button>
                <button className="danger" onClick={() => revoke(k)} aria-label={`revoke ${k.name}`}>
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {keys !== null && keys.length === 0 && <p className="empty">This team has no keys.</p>}
    </section>
  )
}
