package fleetsim

import (
	"math/rand/v2"

	"github.com/xaad-dev/xaad/broker/schedule"
	"github.com/xaad-dev/xaad/broker/upstream"
)

// Flight phases of a slot.
const (
	phNone    uint8 = iota
	phWaitIdP       // waiting for its turn at the IdP's gate
	phAtIdP         // the token exchange is on the wire
	phWaitAS        // waiting at the authorization server's gate
	phAtAS          // the jwt-bearer grant is on the wire
)

// daemon is one simulated xaad: its real refresh queue and IdP pacer,
// whether its laptop is awake, and the user's day.
type daemon struct {
	q   *schedule.Queue
	idp upstream.Pacer
	// running counts the background refreshes the queue handed out and
	// that have not ended (Queue.Run's Parallel bound).
	running int
	// idpCallers counts the caller flights waiting at the IdP's gate:
	// background work goes only when none does.
	idpCallers int
	awake      bool
	// wakeAt is the time of the wake-up event in the heap that counts;
	// -1: none.
	wakeAt int64
	// usage draws the user's day and requests. The generator and its
	// state live in the daemon, next to what a request reads anyway: a
	// separate allocation each was a cache miss per request in a large run.
	usage rand.Rand
	pcg   rand.PCG
	day   day
	// untold: a slot of the daemon has an untold request.
	untold bool
	// erred: the user got an error while the upstreams were up.
	erred bool
}

// slot is one (daemon, server) token: what the daemon holds, the flight
// in progress, and what the user's usage needs.
type slot struct {
	tokIssued int64
	tokExp    int64 // 0: no token
	// lastUse is the time of the last request, toldUse of the last one
	// the queue was told of: the queue has not heard of the last request
	// while they differ.
	lastUse, toldUse int64
	// next is when the queue's plan has the token's refresh due; -1: not
	// known.
	next int64
	// queued: the queue has an entry for the token. mayPark: the entry
	// may be parked, so a request must be told at once to plan it again.
	queued, mayPark bool
	tokUses         int32
	tokBin          int32 // bin in which the token was obtained

	// coverEnd is the end of the last token lifetime the minimum counts:
	// a request after it needs one more token however well refreshes
	// are planned.
	coverEnd   int64
	sessionEnd int64

	as upstream.Pacer

	// The flight.
	phase          uint8
	prio           upstream.Priority
	fromQueue      bool // the queue handed the key out: Done is owed
	failed         bool // the last flight failed: a background one now is a retry
	retry          bool // this flight is a background retry of a failure
	retried        bool // the caller's one retry is spent
	jagRetried     bool // the fresh ID-JAG after invalid_grant is spent
	countedAtIdP   bool // counted in daemon.idpCallers
	gen            uint32
	status         int16 // the answer on the wire
	retryAfter     int32
	callers        int32
	firstCaller    int64
	callerDeadline int64
	jagAt          int64
}
