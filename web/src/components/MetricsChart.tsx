import { useEffect, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { Metric } from '../api'

// MetricsChart draws CPU % and memory/disk use (MiB) over time with uPlot.
export function MetricsChart({ points }: { points: Metric[] }) {
  const el = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const data = (): uPlot.AlignedData => [
    points.map((p) => p.timestampUnix),
    points.map((p) => p.cpuUsedPct),
    points.map((p) => p.memUsed / 2 ** 20),
    points.map((p) => p.diskUsed / 2 ** 20),
  ]
  useEffect(() => {
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
        axes: [{}, { scale: '%', label: 'CPU %' }, { scale: 'MiB', side: 1, label: 'MiB', grid: { show: false } }],
        scales: { '%': { range: [0, 100] } },
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
  }, [])
  useEffect(() => {
    plot.current?.setData(data())
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [points])
  return <div ref={el} className="chart" id="metrics-chart" data-points={points.length} />
}
