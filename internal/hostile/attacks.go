package hostile

import (
	"context"
	"fmt"
	"math"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// The daemon's documented limits (docs/limits.md) that the attacks hold it
// to. They are written out here, not imported: this is a test from outside.
const (
	// MaxRSS bounds the daemon's peak resident memory (VmHWM).
	MaxRSS = 100 << 20
	// MaxFDs bounds its descriptors: 3 per connection for 128, 16 refused
	// connections, 64 of its own.
	MaxFDs = 3*128 + 16 + 64

	connsPerProcess   = 8
	connsTotal        = 128
	streamsPerProcess = 16
	streamsTotal      = 64
	scopeSetsPerProc  = 8
	forceBurst        = 10
	forceEvery        = 6 * time.Second
)

// Attacks lists every attack, in the order a run takes them.
func Attacks() []*Attack {
	return []*Attack{
		hugeRequests(),
		idleConnections(),
		idleTimeout(),
		unreadStreams(),
		forceFlood(),
		scopeSets(),
		unlistedFlood(),
		hostileServer(),
	}
}

func find(name string) *Attack {
	for _, a := range Attacks() {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// dial makes a gRPC connection to the daemon as any client library would.
func dial(e *Env) *grpc.ClientConn {
	cc, err := grpc.NewClient("unix://"+e.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()),
		// An attacker sends what it likes.
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(math.MaxInt32), grpc.MaxCallRecvMsgSize(math.MaxInt32)))
	if err != nil {
		panic(err) // only a malformed target gets here
	}
	return cc
}

// untilCtx is a context that ends with the phase.
func untilCtx(e *Env) (context.Context, context.CancelFunc) {
	return context.WithDeadline(context.Background(), e.Until)
}

// session is what most attackers start with: an outcome to fill, the API
// on a connection of their own, and a context that ends with the phase.
type session struct {
	o   *Outcome
	rpc xaadv1.XaadServiceClient
	ctx context.Context
	end func()
}

func newSession(e *Env) *session {
	cc := dial(e)
	ctx, cancel := untilCtx(e)
	return &session{o: newOutcome(), rpc: xaadv1.NewXaadServiceClient(cc), ctx: ctx, end: func() { cancel(); cc.Close() }}
}

// workers runs f on n goroutines until the phase ends or f says stop.
func workers(e *Env, n int, f func(worker, round int) (more bool)) {
	done := make(chan struct{})
	for w := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			for round := 0; !e.over(); round++ {
				if !f(w, round) {
					return
				}
			}
		}()
	}
	for range n {
		<-done
	}
}

// unexpectedAnswers is the check every phase gets: every answer was one
// the attack expected.
func unexpectedAnswers(p *Phase) []string {
	var out []string
	for i, o := range p.Outcomes {
		for _, u := range o.Unexpected {
			out = append(out, fmt.Sprintf("%s, attacker %d: unexpected answer: %s", p.Attack.Name, i, u))
		}
	}
	return out
}
