// Package daemon is xaad's process: it reads the configuration, opens the
// store, builds the broker, listens on the Unix socket (or takes the one
// systemd passes in), checks every caller's credentials, serves the xaad.v1
// gRPC API with health and reflection, and tells systemd when it is ready
// and when it stops.
//
// [New] does everything that can fail before anything is served: the
// configuration (one validator, shared with `xaad check-config`), the
// store and its key (package keys), the broker and its state, the socket.
// [Daemon.Run] then runs the parts, each a Run(ctx) (components.go), and
// stops them in the reverse order of their start (lifecycle.go).
//
// Only cmd/xaad imports this package (and tests, internal/testdaemon).
package daemon
