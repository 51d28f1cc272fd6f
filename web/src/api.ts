// The public REST API, as any client calls it: X-API-Key, JSON bodies,
// and {code, message} errors shown to the user as they are.
import { forgetKey, savedKey } from './session'

export class APIError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

// onSignedOut is called when the server refuses the saved key, so that
// the app can show the sign-in page with the reason.
let onSignedOut: (reason: string) => void = () => {}
export function setSignedOutHandler(f: (reason: string) => void) {
  onSignedOut = f
}

async function errorOf(res: Response): Promise<APIError> {
  let message = `${res.status} ${res.statusText}`
  try {
    const body = await res.json()
    if (body && typeof body.message === 'string') message = body.message
  } catch {
    // not JSON: keep the status line
  }
  return new APIError(res.status, message)
}

export async function request(path: string, init: RequestInit = {}, key = savedKey()): Promise<Response> {
  const headers = new Headers(init.headers)
  if (key) headers.set('X-API-Key', key)
  if (init.body && !headers.has('Content-Type')) headers.set('Content-Type', 'application/json')
  let res: Response
  try {
    res = await fetch(path, { ...init, headers })
  } catch {
    throw new APIError(0, 'the server cannot be reached: it may be restarting; retrying')
  }
  if (!res.ok) {
    const err = await errorOf(res)
    if (res.status === 401 && key === savedKey()) {
      forgetKey()
      onSignedOut(`signed out: ${err.message}`)
    }
    throw err
  }
  return res
}

export async function getJSON<T>(path: string): Promise<T> {
  return (await request(path)).json()
}

export async function send<T = unknown>(method: string, path: string, body?: unknown): Promise<T | null> {
  const res = await request(path, { method, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return text ? JSON.parse(text) : null
}

export interface ListedSandbox {
  templateID: string
  sandboxID: string
  alias?: string
  startedAt: string
  endAt: string
  cpuCount: number
  memoryMB: number
  diskSizeMB: number
  state: string
  metadata?: Record<string, string>
}

export interface SandboxDetail extends ListedSandbox {
  envdVersion: string
  envdAccessToken?: string
  domain?: string | null
}

export interface Metric {
  timestampUnix: number
  cpuCount: number
  cpuUsedPct: number
  memUsed: number
  memTotal: number
  diskUsed: number
  diskTotal: number
}

export interface LogEntry {
  timestamp: string
  level: string
  message: string
  fields: Record<string, string>
}

export interface Template {
  templateID: string
  aliases?: string[]
  names?: string[]
  buildID?: string
  buildStatus?: string
  cpuCount?: number
  memoryMB?: number
  diskSizeMB?: number
  createdAt?: string
  updatedAt?: string
  public?: boolean
  sizeBytes?: number
}

export interface BuildLogs {
  status?: string
  logs?: string[]
  logEntries?: { timestamp: string; level: string; message: string }[]
  reason?: { message?: string } | null
}

export interface SandboxEvent {
  id: number
  sandboxID: string
  type: string
  timestamp: string
  message?: string
  // why an ended sandbox ended: killed, timeout, oom, error or lost
  reason?: string
}

// streamEvents reads GET /events (server-sent events) with the key in a
// header, which EventSource cannot send, and calls onEvent for each until
// signal aborts. It resumes after the last id when the stream drops,
// calling onStatus with what went wrong, and with null once it is back.
export async function streamEvents(
  signal: AbortSignal,
  onEvent: (ev: SandboxEvent) => void,
  onStatus: (err: string | null) => void,
) {
  let last = 0
  while (!signal.aborted) {
    try {
      const res = await request(`/events?lastEventId=${last}`, { signal })
      onStatus(null)
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
      let buf = ''
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buf += value
        let i: number
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i)
          buf = buf.slice(i + 2)
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n')
          if (!data) continue
          const ev = JSON.parse(data)
          if (typeof ev.id === 'number') {
            last = ev.id
            onEvent(ev)
          }
        }
      }
      // The server ended the stream: it is shutting down or restarting.
      if (!signal.aborted) onStatus('the server closed the event stream; reconnecting')
    } catch (e) {
      if (signal.aborted) return
      onStatus(e instanceof Error ? e.message : String(e))
      if (e instanceof APIError && e.status === 401) return
    }
    await new Promise((r) => setTimeout(r, 2000))
  }
}
