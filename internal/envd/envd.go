// Package envd names what both sides of E2B's envd protocol must agree
// on: the ports the in-sandbox agent listens on and the protocol version
// it reports. The agent serves them; the control plane dials and reports
// them. Defined once here so that the two cannot drift.
package envd

// Port is where every sandbox's agent serves the envd protocol (commands,
// files, /health, /init), the port E2B's SDKs address.
const Port = 49983

// CodeInterpreterPort is where the agent serves the code interpreter
// (E2B's @e2b/code-interpreter API).
const CodeInterpreterPort = 49999

// Version is the envd protocol version sandboxes report. E2B's SDKs
// enable features by it.
const Version = "0.6.13"
