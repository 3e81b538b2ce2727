// Package schedule is the refresh queue of xaad's access tokens: when each
// (MCP server, scope set) token is due for a background refresh, how
// failures back off, which tokens are idle, and a loop that runs the due
// refreshes.
//
// The [Queue] is a plain data structure whose methods take the current time
// as an argument: a discrete-event loop (a test, or a fleet simulator with
// thousands of queues under one virtual clock) drives it without goroutines
// or timers. [Queue.Run] is the daemon's thin driver over the same methods:
// one injected clock, a bounded number of refreshes at once, wake-ups when
// the plan changes, and detection of suspends and clock jumps.
//
// The package knows nothing of tokens, IdPs or the broker: the caller says
// when a token was obtained and when it expires ([Queue.Succeeded]), or
// that a refresh failed ([Queue.Failed]), and the queue says when to try
// next. The policy itself is the pure functions [RefreshAt] and [Backoff].
package schedule
