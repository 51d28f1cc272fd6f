// Package interpreter is the code interpreter of a sandbox: the HTTP API
// of E2B's `@e2b/code-interpreter` SDKs on port 49999, in front of
// stateful Python, JavaScript and Bash contexts.
//
// Each context is one long-lived driver process, running as the sandbox's
// default user in its own process group:
//   - python: IPython's InteractiveShell (drivers/python.py), the engine
//     ipykernel wraps, giving IPython's display system, rich reprs, the
//     matplotlib inline backend and its tracebacks; the agent itself is
//     the transport instead of ZeroMQ.
//   - javascript: Node.js (drivers/javascript.js), cells run in the
//     process's global scope with Node's REPL transform for top-level
//     await.
//   - bash: bash (drivers/bash.sh), cells sourced into one shell.
//
// The drivers are embedded in the agent and all speak one protocol:
//
//   - fd 0 is /dev/null; fd 1 and 2 are pipes whose text the agent streams
//     to the client as stdout and stderr messages, so output of the cell's
//     child processes arrives too; fd 3 carries requests from the agent;
//     fd 4 carries events to the agent, one JSON object per line.
//   - Once started, a driver writes {"type":"ready"}.
//   - A request is {"id", "code", "env"} (bash reads a simpler line, see
//     encodeBash); one runs at a time, env applies to that cell only.
//   - For a request the driver writes zero or more {"type":"result",
//     "is_main_result", text, html, png, chart, ...} and at most one
//     {"type":"error", "name", "value", "traceback"}, then exactly one
//     {"type":"done", "execution_count"}. Each carries the request's
//     "id" and a "mark".
//   - Before writing an event with mark m, the driver flushes its output
//     and writes the marker "\x1e\x1fsoulbox-mark:<m>\x1f\x1e" to fd 1
//     and then fd 2. The agent strips markers from the output and holds
//     the event until both pipes have passed it, so a result is never
//     delivered ahead of the prints that preceded it. Marks increase over
//     the driver's life; 0 means the marker could not be written.
//   - SIGINT to the process group interrupts the running cell, which ends
//     with an error and done; between cells the driver ignores it. A cell
//     that does not stop within interruptGrace costs the context its
//     driver, replaced on the next execution, which says so on stderr.
//   - EOF on fd 3 ends the driver.
package interpreter
