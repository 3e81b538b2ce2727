// Package daemon is xaad's process: it reads the configuration, opens the
// store, builds the broker, listens on the Unix socket (or takes the one
// systemd passes in), checks every caller's credentials, serves the xaad.v1
// gRPC API with health and reflection, and tells systemd when it is ready
// and when it stops.
//
// Only cmd/xaad imports this package.
package daemon
