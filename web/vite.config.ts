import { createLogger, defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

// The e2b SDK imports Node modules for what only runs in Node (template
// builds from local files); Vite leaves them out of the browser bundle
// and says so for each, which the dashboard, not calling them, need not
// hear on every build.
const logger = createLogger()
for (const level of ['warn', 'warnOnce'] as const) {
  const log = logger[level]
  logger[level] = (msg, opts) => {
    if (!msg.includes('has been externalized for browser compatibility')) log(msg, opts)
  }
}

// The app is served by `soulbox server` under /dashboard/ and embedded in
// the binary from internal/dashboard/dist/app.
export default defineConfig({
  base: '/dashboard/',
  plugins: [react()],
  customLogger: logger,
  build: {
    outDir: '../internal/dashboard/dist/app',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
})
