package daemon

import (
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
)

// The daemon's bounds on what a caller may send, hold and ask for. Each is
// documented in docs/limits.md (TestLimitsDocumented holds the two
// together) and, where the API is concerned, in the proto. A request over a
// shape bound gets INVALID_ARGUMENT, one over a usage bound
// LIMIT_EXCEEDED; both messages name the bound and its value.
const (
	// Shapes of a request, checked before the request reaches the broker.
	maxURLBytes          = 4096
	maxScopes            = 32
	maxScopeBytes        = 256
	maxWatchResources    = 64
	maxIDTokenBytes      = 64 << 10
	maxRefreshTokenBytes = 16 << 10
	// DPoP requests (GetToken's dpop, SignProof): an HTTP method is a
	// short token, a nonce is what broker/dpop keeps at most, and the
	// access token is one the daemon issued (a JWT of a few KiB).
	maxMethodBytes      = 32
	maxNonceBytes       = 1024
	maxAccessTokenBytes = 64 << 10

	// gRPC's own bounds. A request is a few URLs and scopes, or an ID
	// token to import; the largest reply is a token (upstream bodies are
	// capped at 1 MiB) with its server's status, or a Status.
	maxRequestBytes   = 128 << 10
	maxReplyBytes     = 4 << 20
	maxHeaderBytes    = 16 << 10
	maxStreamsPerConn = 16
	connIdle          = 2 * time.Minute
	handshakeTimeout  = 10 * time.Second
	// windowBytes fixes HTTP/2 flow control, so no connection buffers
	// more than this of a request the daemon has not read yet.
	windowBytes = 64 << 10

	// Connections (peercred.Limits): each admitted one costs three
	// descriptors, so 128 cost 384, well under the 1,024 of the smallest
	// descriptor limit a session gets.
	maxConns           = 128
	maxConnsPerProcess = 8
	maxConnsOtherUIDs  = 8
	maxRefusedConns    = 16
	refusedLinger      = 2 * time.Second

	// Streams, which a caller can keep open as long as it likes
	// (WatchTokens, health Watch, reflection, Login): each keeps its
	// connection busy, so their total stays well under maxConns and
	// there is always an idle connection to close for a newcomer.
	maxStreams           = 64
	maxStreamsPerProcess = 16

	// Forced refreshes: coalesced per token within forceWindow; each
	// process may force forceBurst refreshes that reach the network in a
	// row, then one per forceEvery.
	forceWindow = 10 * time.Second
	forceBurst  = 10
	forceEvery  = 6 * time.Second

	// Scope sets: a process may ask for maxScopeSetsPerServer different
	// ones per server; a set unused for scopeSetIdle no longer counts.
	maxScopeSetsPerServer = 8
	scopeSetIdle          = time.Hour

	// Status and ListServers list at most this much.
	maxListedServers = 256
	maxListedBytes   = 1 << 20

	// The tables kept per caller are bounded too; a forgotten caller
	// starts afresh.
	maxTrackedCallers = 4096
	maxTrackedForces  = 4096
)

// ReasonLimitExceeded is the ErrorInfo reason of a request over one of
// the daemon's usage limits (xaad.v1.Reason LIMIT_EXCEEDED).
const ReasonLimitExceeded = "LIMIT_EXCEEDED"

// limitExceeded is the error of a request over a usage limit; the message
// names the limit and its value and says what to do.
func limitExceeded(format string, args ...any) error {
	return withReason(codes.ResourceExhausted, ReasonLimitExceeded,
		fmt.Sprintf(format, args...)+" (xaad's limits: docs/limits.md)")
}

// tooLong refuses a field over its size bound.
func tooLong(field string, n, max int) error {
	return invalidArgument(fmt.Sprintf("%s is %d bytes; xaad accepts at most %d (docs/limits.md)", field, n, max))
}
