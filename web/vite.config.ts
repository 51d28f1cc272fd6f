import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

// The app is served by `soulbox server` under /dashboard/ and embedded in
// the binary from internal/dashboard/dist/app.
export default defineConfig({
  base: '/dashboard/',
  plugins: [react()],
  build: {
    outDir: '../internal/dashboard/dist/app',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
})
