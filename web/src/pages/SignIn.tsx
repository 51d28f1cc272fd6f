import { FormEvent, useState } from 'react'
import { APIError, request } from '../api'
import { saveKey } from '../session'

// SignIn checks a key against the API (a one-item list) before keeping it.
export function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn: () => void }) {
  const [key, setKey] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  async function submit(e: FormEvent) {
    e.preventDefault()
    const k = key.trim()
    if (!k) {
      setError('enter an API key: `soulbox server` prints the admin key at its first start')
      return
    }
    setBusy(true)
    setError(null)
    try {
      await request('/v2/sandboxes?limit=1', {}, k)
      saveKey(k)
      setKey('')
      onSignedIn()
    } catch (e) {
      const msg = e instanceof APIError ? e.message : String(e)
      setError(e instanceof APIError && e.status === 401 ? `this key was refused: ${msg}` : msg)
    } finally {
      setBusy(false)
    }
  }
  return (
    <main className="signin">
      <h1>SoulBox</h1>
      <form onSubmit={submit}>
        <label htmlFor="apikey">API key</label>
        <input
          id="apikey"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          onChange={(e) => setKey(e.target.value)}
          placeholder="e2b_…"
          autoFocus
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        {notice && !error && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <p className="hint">The key is kept in this tab only (session storage) and sent as X-API-Key to this server.</p>
      </form>
    </main>
  )
}
