// Package fleetsim simulates a fleet of xaad daemons against one IdP and
// the authorization servers of their MCP servers, under one virtual clock,
// so an administrator can size a rollout before it meets the IdP's rate
// limits.
//
// It drives the daemon's real scheduling code, not a model of it: one
// [schedule.Queue] per simulated daemon (its methods take the time as an
// argument), one [upstream.Pacer] per daemon and token endpoint (the
// client-side token bucket and the pause a 429 asked for), and
// [upstream.ParseRetry] on every 429 the model servers answer. What the
// broker does around them is followed step by step (broker/token.go,
// retry.go, background.go): a caller's request is served from the cache
// when its token is valid, else it starts or joins the one flight of that
// token; a flight is a token exchange at the IdP (ID-JAG), then a
// jwt-bearer grant at the authorization server; callers go before
// background refreshes, and a caller's flight retries one transient
// failure from the exchange.
//
// The loop is a heap of events with no goroutine per daemon; events are
// plain values, so a day of 100,000 daemons allocates little beyond the
// queues themselves.
//
// [schedule.Queue]: github.com/xaad-dev/xaad/broker/schedule
// [upstream.Pacer]: github.com/xaad-dev/xaad/broker/upstream
// [upstream.ParseRetry]: github.com/xaad-dev/xaad/broker/upstream
package fleetsim
