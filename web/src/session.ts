// The API key lives only in this tab's session storage: never in a URL,
// a cookie or a log line, and gone when the tab closes.
const storageKey = 'soulbox.apiKey'

export function savedKey(): string | null {
  return sessionStorage.getItem(storageKey)
}

export function saveKey(key: string) {
  sessionStorage.setItem(storageKey, key)
}

export function forgetKey() {
  sessionStorage.removeItem(storageKey)
}
