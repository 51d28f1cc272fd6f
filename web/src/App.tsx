import { lazy, Suspense, useEffect, useState } from 'react'
import { setSignedOutHandler } from './api'
import { forgetKey, savedKey } from './session'
import { useRoute } from './route'
import { SignIn } from './pages/SignIn'
import { Sandboxes } from './pages/Sandboxes'
import { Templates } from './pages/Templates'
import { Keys } from './pages/Keys'
import { HealthPage } from './pages/Health'
import { Audit } from './pages/Audit'

// The detail page carries the SDK, xterm.js and uPlot: loaded when a
// sandbox is first opened, not with the list.
const SandboxDetail = lazy(() => import('./pages/SandboxDetail').then((m) => ({ default: m.SandboxDetail })))

const nav = [
  ['sandboxes', 'Sandboxes'],
  ['templates', 'Templates'],
  ['keys', 'API keys'],
  ['audit', 'Audit log'],
  ['health', 'Health'],
] as const

export function App() {
  const [signedIn, setSignedIn] = useState(() => savedKey() !== null)
  const [reason, setReason] = useState<string | null>(null)
  const route = useRoute()
  useEffect(() => {
    setSignedOutHandler((why) => {
      setReason(why)
      setSignedIn(false)
    })
  }, [])
  if (!signedIn) {
    return (
      <SignIn
        notice={reason}
        onSignedIn={() => {
          setReason(null)
          setSignedIn(true)
        }}
      />
    )
  }
  const page = route[0] ?? 'sandboxes'
  let body
  if (page === 'sandboxes' && route[1]) body = <SandboxDetail key={route[1]} id={route[1]} />
  else if (page === 'templates') body = <Templates />
  else if (page === 'keys') body = <Keys />
  else if (page === 'health') body = <HealthPage />
  else if (page === 'audit') body = <Audit />
  else body = <Sandboxes />
  return (
    <>
      <header className="top">
        <a className="brand" href="#/sandboxes">
          SoulBox
        </a>
        <nav aria-label="Main">
          {nav.map(([p, label]) => (
            <a key={p} href={`#/${p}`} aria-current={page === p ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <button
          className="link"
          onClick={() => {
            forgetKey()
            setReason(null)
            setSignedIn(false)
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        <Suspense fallback={<p className="hint">Loading…</p>}>{body}</Suspense>
      </main>
    </>
  )
}
