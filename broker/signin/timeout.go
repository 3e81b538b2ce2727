package signin

import (
	"context"
	"time"

	"github.com/xaad-dev/xaad/internal/clock"
)

// withTimeout returns a context that ends once d has passed on c, with
// context.DeadlineExceeded as its cause, so that a sign-in's deadline
// runs on the injected clock like its other waits. d <= 0 means none.
// The returned stop releases the timer; it must be called.
func withTimeout(ctx context.Context, c clock.Clock, d time.Duration) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	if d <= 0 {
		return ctx, func() { cancel(nil) }
	}
	t := c.NewTimer(d)
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-t.C():
			cancel(context.DeadlineExceeded)
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		t.Stop()
		cancel(nil)
		<-done
	}
}
