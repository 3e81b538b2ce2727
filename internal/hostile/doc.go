// Package hostile is xaad's hostile-caller test: a bounded load program
// that attacks the built daemon (`xaad run` on a real Unix socket, the
// testbed as its upstream on loopback) the way a greedy or hostile program
// running as the same user could, and holds it to the bounds of
// docs/limits.md: its peak resident memory, its descriptors, the upstream
// requests the attacks cause, and a legitimate client (GetToken and Status
// through package client, `xaactl token`, a tool call through
// `xaactl proxy`) that must be served throughout, every call.
//
// Each attack runs in attacker processes of its own (the attacker binary
// re-executed, see [MaybeChild]): the daemon's limits are per process, and
// the legitimate client must be a process apart from every attacker.
//
// Adding an attack (a flood of unknown URLs for the broker, a hostile MCP
// server for the proxy) is one [Attack] in [Attacks]: Run is the attacker,
// Prepare (optional) sets up what it needs in the orchestrator, such as a
// server of its own, and Check judges the phase.
//
// Run it with `go test ./internal/hostile/` (seconds) or
// `go run ./internal/cmd/xaad-hostile -long` (minutes).
package hostile
