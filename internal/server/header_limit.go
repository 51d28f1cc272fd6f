package server

// MaxHeaderBytes bounds a request's header on the API port (Go's default
// is 1 MiB): a key, a token and the SDK's headers need a few hundred
// bytes. A larger header is answered 431 before anything else runs.
const MaxHeaderBytes = 64 << 10
