import { useEffect, useState } from 'react'

// Routes live in the fragment (#/sandboxes/<id>) so that the server has
// one page to serve, and never carry the key.
export function useRoute(): string[] {
  const parse = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent)
  const [route, setRoute] = useState(parse)
  useEffect(() => {
    const f = () => setRoute(parse())
    window.addEventListener('hashchange', f)
    return () => window.removeEventListener('hashchange', f)
  }, [])
  return route
}

export function go(...parts: string[]) {
  location.hash = '#/' + parts.map(encodeURIComponent).join('/')
}
