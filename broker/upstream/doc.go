// Package upstream keeps the daemon polite to the token endpoints it calls:
// the IdP's, where every ID token refresh and token exchange of a user
// lands, and each MCP authorization server's.
//
// A [Gate] guards one endpoint. Every call to it goes through
// [Gate.Wait] (or [Gate.Do]) and reports its answer with [Gate.Observe] or
// [Gate.ObserveError]. The gate enforces a token bucket ([Limit]); lets
// callers, whom a person is waiting for, through in the order they came and
// ahead of background refreshes; tells a caller at once, with a
// [*WaitError], when its deadline comes before its turn; and, after a 429
// or 503 that names a time to come back ([ParseRetry]), lets nothing
// through before that time.
//
// The arithmetic lives in [Pacer], which takes explicit times and has no
// locks, goroutines or clock, so a discrete-event simulator can run one per
// simulated daemon. A Gate is a Pacer plus the queues, a [github.com/xaad-dev/xaad/internal/clock.Clock] and
// a mutex.
//
// Nothing in this package logs; holds clipped to [MaxHold] are reported in
// the returned [Hint] so the caller can.
package upstream
