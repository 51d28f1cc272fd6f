// Package soulbox is the Go SDK of SoulBox: secure, disposable Linux
// sandboxes for AI agents.
//
// It speaks E2B's wire protocol (the REST API for sandboxes, the envd
// Connect protocol for commands and files, the code interpreter's HTTP
// API), so the same program works against a SoulBox server and against
// E2B itself.
//
// A [Client] holds the server and API key; [New] reads them from
// [Options] or, when those are empty, from the environment
// (SOULBOX_API_URL / SOULBOX_API_KEY, else E2B_API_URL / E2B_API_KEY,
// E2B_SANDBOX_URL and E2B_DOMAIN). [Client.Create] starts a [Sandbox];
// its fields reach the sandbox's parts:
//
//   - [Sandbox.Commands]: run commands to completion or in the
//     background, with stdin, signals and streaming output;
//   - [Sandbox.PTY]: interactive terminals as an [io.ReadWriteCloser];
//   - [Sandbox.Files]: read, write, list, watch files; signed URLs;
//   - [Sandbox.RunCode]: stateful Python and JavaScript contexts with
//     rich results (PNG charts, HTML, JSON).
//
// Every call takes a [context.Context]; cancelling it cancels the work in
// the sandbox too (a command is killed, a code cell interrupted).
// Errors carry a category usable with [errors.Is] ([ErrNotFound],
// [ErrAuth], [ErrRateLimited], [ErrInvalidArgument], [ErrTimeout], ...)
// and details with [errors.As] on [*Error].
//
// The package follows semantic versioning; see CHANGELOG.md next to it.
package soulbox
