// Spark is a small line of recent values (0..max) for a table cell.
export function Spark({ values, max, label }: { values: number[]; max: number; label: string }) {
  const w = 64
  const h = 16
  if (values.length === 0) return <span className="hint">—</span>
  if (values.length === 1) values = [values[0], values[0]]
  const step = values.length > 1 ? w / (values.length - 1) : 0
  const pts = values.map((v, i) => `${(i * step).toFixed(1)},${(h - (Math.min(v, max) / max) * (h - 2) - 1).toFixed(1)}`).join(' ')
  const last = values[values.length - 1]
  return (
    <span className="spark" title={`${label}: ${last.toFixed(0)}%`}>
      <svg width={w} height={h} role="img" aria-label={`${label} ${last.toFixed(0)}%`}>
        <polyline points={pts} fill="none" stroke="currentColor" strokeWidth="1.5" />
      </svg>{' '}
      {last.toFixed(0)}%
    </span>
  )
}
