import { useCallback, useEffect, useState } from 'react'
import type { Sandbox } from 'e2b'
import type { SandboxDetail } from '../api'
import { agentHeaders, fileURL } from '../sandbox'
import { bytes, errText } from '../format'

interface Entry {
  name: string
  path: string
  type?: string
  size: number
}

function join(dir: string, name: string) {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`
}

// maxEdit is the largest file the page opens in its editor.
const maxEdit = 1 << 20

function parent(dir: string) {
  const p = dir.replace(/\/+$/, '').split('/').slice(0, -1).join('/')
  return p || '/'
}

// Files browses the sandbox's filesystem through the agent: list with
// the SDK, upload and download on the agent's /files endpoint (the
// upload by XMLHttpRequest, which reports progress where fetch does not).
export function Files({ agent, sb }: { agent: Sandbox; sb: SandboxDetail }) {
  const [dir, setDir] = useState('/home/user')
  const [typed, setTyped] = useState('/home/user')
  const [entries, setEntries] = useState<Entry[]>([])
  const [error, setError] = useState<string | null>(null)
  const [progress, setProgress] = useState<string | null>(null)
  const [watching, setWatching] = useState(false)
  const [editing, setEditing] = useState<{ path: string; text: string } | null>(null)

  const load = useCallback(async () => {
    try {
      const list = await agent.files.list(dir)
      list.sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name) : a.type === 'dir' ? -1 : 1))
      setEntries(list.map((e) => ({ name: e.name, path: e.path, type: e.type, size: e.size })))
      setError(null)
    } catch (e) {
      setError(`${dir}: ${errText(e)}`)
    }
  }, [agent, dir])

  useEffect(() => {
    setTyped(dir)
    load()
  }, [dir, load])

  // The agent reports changes in the directory shown; the list follows
  // them, coalesced, without a refresh.
  useEffect(() => {
    let stopped = false
    let handle: { stop(): Promise<void> } | undefined
    let pending: number | undefined
    agent.files
      .watchDir(
        dir,
        () => {
          if (pending === undefined)
            pending = window.setTimeout(() => {
              pending = undefined
              load()
            }, 200)
        },
        {
          timeoutMs: 0,
          onExit: () => {
            if (!stopped) setWatching(false)
          },
        },
      )
      .then((h) => {
        if (stopped) h.stop()
        else {
          handle = h
          setWatching(true)
        }
      })
      .catch(() => setWatching(false))
    return () => {
      stopped = true
      setWatching(false)
      if (pending !== undefined) clearTimeout(pending)
      handle?.stop()
    }
  }, [agent, dir, load])

  async function edit(e: Entry) {
    if (e.size > maxEdit) {
      setError(`${e.path} is ${bytes(e.size)}: the page edits files up to ${bytes(maxEdit)}; download it instead`)
      return
    }
    try {
      const text = await agent.files.read(e.path)
      if (text.includes('\u0000')) {
        setError(`${e.path} is not a text file: download it instead`)
        return
      }
      setEditing({ path: e.path, text })
      setError(null)
    } catch (err) {
      setError(`read ${e.path}: ${errText(err)}`)
    }
  }

  async function save() {
    if (!editing) return
    try {
      await agent.files.write(editing.path, editing.text)
      setProgress(`saved ${editing.path}`)
      setEditing(null)
      load()
    } catch (err) {
      setError(`save ${editing.path}: ${errText(err)}`)
    }
  }

  function upload(file: File) {
    const path = join(dir, file.name)
    const xhr = new XMLHttpRequest()
    xhr.open('POST', fileURL(path))
    for (const [k, v] of Object.entries(agentHeaders(sb))) xhr.setRequestHeader(k, v)
    xhr.setRequestHeader('Content-Type', 'application/octet-stream')
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) setProgress(`uploading ${file.name}: ${Math.round((100 * e.loaded) / e.total)}%`)
    }
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        setProgress(`uploaded ${file.name} (${bytes(file.size)})`)
        load()
        return
      }
      let msg = `${xhr.status}`
      try {
        msg = JSON.parse(xhr.responseText).message ?? msg
      } catch {
        // keep the status
      }
      setProgress(null)
      setError(`upload ${file.name}: ${msg}`)
    }
    xhr.onerror = () => {
      setProgress(null)
      setError(`upload ${file.name}: the server cannot be reached`)
    }
    setProgress(`uploading ${file.name}: 0%`)
    xhr.send(file)
  }

  async function download(e: Entry) {
    try {
      const res = await fetch(fileURL(e.path), { headers: agentHeaders(sb) })
      if (!res.ok) {
        const body = await res.json().catch(() => null)
        throw new Error(body?.message ?? `${res.status}`)
      }
      const url = URL.createObjectURL(await res.blob())
      const a = document.createElement('a')
      a.href = url
      a.download = e.name
      a.click()
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
    } catch (err) {
      setError(`download ${e.path}: ${errText(err)}`)
    }
  }

  return (
    <div className="files" id="files">
      <form
        className="pathbar"
        onSubmit={(e) => {
          e.preventDefault()
          setDir(typed.trim() || '/')
        }}
      >
        <button type="button" onClick={() => setDir(parent(dir))} aria-label="Parent directory">
          ..
        </button>
        <input aria-label="Directory" value={typed} onChange={(e) => setTyped(e.target.value)} />
        <button type="submit">Go</button>
        <button type="button" onClick={load}>
          Refresh
        </button>
        <span className="hint" role="status">
          {watching ? 'watching for changes' : 'not watching'}
        </span>
        <label className="upload">
          Upload <input type="file" aria-label="Upload a file" onChange={(e) => e.target.files?.[0] && upload(e.target.files[0])} />
        </label>
      </form>
      {progress && (
        <p className="notice" role="status">
          {progress}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {editing && (
        <div className="panel" id="editor">
          <label htmlFor="editor-text">
            Editing <code>{editing.path}</code>
          </label>
          <textarea
            id="editor-text"
            value={editing.text}
            onChange={(e) => setEditing({ ...editing, text: e.target.value })}
            rows={16}
            spellCheck={false}
          />
          <div className="actions">
            <button onClick={save}>Save</button>
            <button onClick={() => setEditing(null)}>Cancel</button>
          </div>
        </div>
      )}
      <table className="list">
        <tbody>
          {entries.map((e) => (
            <tr key={e.path}>
              <td>
                {e.type === 'dir' ? (
                  <button className="link" onClick={() => setDir(e.path)}>
                    {e.name}/
                  </button>
                ) : (
                  e.name
                )}
              </td>
              <td>{e.type === 'dir' ? '' : bytes(e.size)}</td>
              <td>
                {e.type !== 'dir' && (
                  <>
                    <button className="link" onClick={() => download(e)}>
                      download
                    </button>{' '}
                    <button className="link" onClick={() => edit(e)} aria-label={`edit ${e.name}`}>
                      edit
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
