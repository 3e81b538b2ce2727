package broker

import "context"

// TickForTest runs the refreshes due now, synchronously, and returns how
// many it ran: the scheduler loop's work without its goroutines and timers.
func (b *Broker) TickForTest(ctx context.Context) int {
	jobs, _ := b.due(b.now())
	for _, j := range jobs {
		b.background(ctx, j)
	}
	return len(jobs)
}

// Jumped exposes the loop's jump rule.
var Jumped = jumped
