import { useEffect, useRef, useState } from 'react'
import { Terminal as XTerm } from '@xterm/xterm'
import { FitAddon } from '@xterm/addon-fit'
import '@xterm/xterm/css/xterm.css'
import type { Sandbox } from 'e2b'
import { errText } from '../format'

// Terminal is a PTY in the sandbox (the agent's process service) shown in
// xterm.js: keystrokes go in as PTY input, output comes back as a stream,
// and the PTY follows the element's size.
export function Terminal({ agent }: { agent: Sandbox }) {
  const el = useRef<HTMLDivElement>(null)
  const [status, setStatus] = useState('connecting…')
  useEffect(() => {
    const term = new XTerm({ cursorBlink: true, fontSize: 13, convertEol: false, scrollback: 5000 })
    const fit = new FitAddon()
    term.loadAddon(fit)
    term.open(el.current!)
    fit.fit()
    let pid: number | undefined
    let closed = false
    const enc = new TextEncoder()
    // Each sendInput is its own request, and requests in flight may
    // arrive in any order: keystrokes are sent one request at a time,
    // those typed meanwhile batched into the next.
    let queued = ''
    let sending = false
    async function flush() {
      if (sending) return
      sending = true
      try {
        while (queued && pid !== undefined && !closed) {
          const d = queued
          queued = ''
          await agent.pty.sendInput(pid, enc.encode(d))
        }
      } catch (e) {
        setStatus(`input failed: ${errText(e)}`)
      } finally {
        sending = false
      }
    }
    const input = term.onData((d) => {
      queued += d
      flush()
    })
    const resize = term.onResize(({ cols, rows }) => {
      if (pid !== undefined) agent.pty.resize(pid, { cols, rows }).catch(() => {})
    })
    // Ctrl+C belongs to the shell; Ctrl+Shift+C copies the selection, as
    // in desktop terminals (Ctrl+V and Ctrl+Shift+V paste by themselves).
    term.attachCustomKeyEventHandler((e) => {
      if (e.type === 'keydown' && e.ctrlKey && e.shiftKey && e.code === 'KeyC' && term.hasSelection()) {
        navigator.clipboard?.writeText(term.getSelection()).catch(() => {})
        return false
      }
      return true
    })
    const ro = new ResizeObserver(() => fit.fit())
    ro.observe(el.current!)
    agent.pty
      .create({
        cols: term.cols,
        rows: term.rows,
        timeoutMs: 0,
        onData: (d) => term.write(d),
      })
      .then(async (h) => {
        if (closed) {
          await h.kill().catch(() => {})
          return
        }
        pid = h.pid
        setStatus('connected')
        term.focus()
        try {
          const r = await h.wait()
          setStatus(`exited with code ${r.exitCode}`)
        } catch (e) {
          if (!closed) setStatus(`ended: ${errText(e)}`)
        }
      })
      .catch((e) => setStatus(`cannot open a terminal: ${errText(e)}`))
    return () => {
      closed = true
      input.dispose()
      resize.dispose()
      ro.disconnect()
      if (pid !== undefined) agent.pty.kill(pid).catch(() => {})
      term.dispose()
    }
  }, [agent])
  return (
    <div className="terminal">
      <div className="termstatus" role="status">
        Terminal: {status}
      </div>
      <div ref={el} className="xterm-host" id="terminal" />
    </div>
  )
}
