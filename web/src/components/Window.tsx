import { RefObject, useEffect, useLayoutEffect, useState } from 'react'

// useWindow is the range [start, end) of count rows of a table body that
// the browser window shows, with overscan rows either side, so that a
// long list renders only those: the rest is held by a spacer row's
// height (see Spacer). Rows are taken to be as tall as the first one
// rendered (the table keeps them on one line).
export function useWindow(body: RefObject<HTMLElement | null>, count: number, overscan = 15) {
  const [rowHeight, setRowHeight] = useState(40)
  const [view, setView] = useState({ top: 0, height: typeof window === 'undefined' ? 800 : window.innerHeight })

  useEffect(() => {
    let frame = 0
    const measure = () => {
      frame = 0
      const el = body.current
      if (!el) return
      // The body's top relative to the window: negative once scrolled past.
      setView({ top: el.getBoundingClientRect().top, height: window.innerHeight })
    }
    const onScroll = () => {
      if (!frame) frame = requestAnimationFrame(measure)
    }
    measure()
    window.addEventListener('scroll', onScroll, { passive: true })
    window.addEventListener('resize', onScroll)
    return () => {
      window.removeEventListener('scroll', onScroll)
      window.removeEventListener('resize', onScroll)
      if (frame) cancelAnimationFrame(frame)
    }
  }, [body])

  // The real height of a row, once one is on screen.
  useLayoutEffect(() => {
    const row = body.current?.querySelector<HTMLElement>('tr[data-row]')
    if (row && row.offsetHeight > 0 && Math.abs(row.offsetHeight - rowHeight) > 0.5) setRowHeight(row.offsetHeight)
  })

  const first = Math.floor(-view.top / rowHeight)
  const start = Math.max(0, Math.min(count, first - overscan))
  const end = Math.max(start, Math.min(count, Math.ceil((view.height - view.top) / rowHeight) + overscan))
  return { start, end, rowHeight }
}

// Spacer is a table row as tall as n rows of rowHeight, standing in for
// rows not rendered.
export function Spacer({ n, rowHeight, cols }: { n: number; rowHeight: number; cols: number }) {
  if (n <= 0) return null
  return (
    <tr aria-hidden="true" className="spacer">
      <td colSpan={cols} style={{ height: n * rowHeight, padding: 0, border: 0 }} />
    </tr>
  )
}
