import { useEffect, useRef, useState } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { Metric } from '../api'

// MetricsChart draws CPU % and memory/disk use (MiB) over time with uPlot.
export function MetricsChart({ points, windowS }: { points: Metric[]; windowS: number }) {
  // The time axis spans the chosen window (or, for the whole life, the
  // points with a minute at least), so that one point is not a year wide.
  const span = useRef(windowS)
  span.current = windowS
  const el = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const data = (): uPlot.AlignedData => [
    points.map((p) => p.timestampUnix),
    points.map((p) => p.cpuUsedPct),
    points.map((p) => p.memUsed / 2 ** 20),
    points.map((p) => p.diskUsed / 2 ** 20),
  ]
  // Canvas colours cannot follow CSS by themselves: the chart is drawn
  // again with the page's colours when the colour scheme changes.
  const [scheme, setScheme] = useState(0)
  useEffect(() => {
    const mq = matchMedia('(prefers-color-scheme: dark)')
    const f = () => setScheme((n) => n + 1)
    mq.addEventListener('change', f)
    return () => mq.removeEventListener('change', f)
  }, [])
  useEffect(() => {
    const css = getComputedStyle(document.documentElement)
    const fg = css.getPropertyValue('--fg').trim() || '#1b1f24'
    const line = css.getPropertyValue('--line').trim() || '#d8dde3'
    const axis = { stroke: fg, grid: { stroke: line }, ticks: { stroke: line } }
    const width = () => Math.max(300, el.current!.clientWidth)
    plot.current = new uPlot(
      {
        width: width(),
        height: 220,
        series: [
          {},
          { label: 'CPU %', stroke: '#e8590c', scale: '%' },
          { label: 'Memory MiB', stroke: '#1c7ed6', scale: 'MiB' },
          { label: 'Disk MiB', stroke: '#2f9e44', scale: 'MiB' },
        ],
        axes: [axis, { ...axis, scale: '%', label: 'CPU %' }, { ...axis, scale: 'MiB', side: 1, label: 'MiB', grid: { show: false } }],
        scales: {
          x: {
            time: true,
            range: (_u, min, max) => {
              const now = Date.now() / 1000
              if (span.current) return [now - span.current, now]
              return max - min < 60 ? [max - 60, max] : [min, max]
            },
          },
          '%': { range: [0, 100] },
        },
      },
      data(),
      el.current!,
    )
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: width(), height: 220 }))
    ro.observe(el.current!)
    return () => {
      ro.disconnect()
      plot.current?.destroy()
      plot.current = null
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [scheme])
  useEffect(() => {
    plot.current?.setData(data())
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [points])
  return <div ref={el} className="chart" id="metrics-chart" data-points={points.length} />
}
