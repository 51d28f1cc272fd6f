// Measures the e2b SDK's commands.run('echo hi') against one sandbox, for
// BenchmarkRunEchoGoVersusJS: prints {"median_ms", "p90_ms", "n"} as JSON.
import { Sandbox } from 'e2b'

const n = Number(process.env.BENCH_N || 100)
const sbx = await Sandbox.connect(process.env.SANDBOX_ID)
for (let i = 0; i < 5; i++) await sbx.commands.run('echo hi') // warm up connections
const ms = []
for (let i = 0; i < n; i++) {
  const t0 = performance.now()
  const r = await sbx.commands.run('echo hi')
  ms.push(performance.now() - t0)
  if (r.stdout !== 'hi\n') throw new Error(`unexpected stdout ${JSON.stringify(r.stdout)}`)
}
ms.sort((a, b) => a - b)
console.log(JSON.stringify({ median_ms: ms[Math.floor(n / 2)], p90_ms: ms[Math.floor(n * 0.9)], n }))
