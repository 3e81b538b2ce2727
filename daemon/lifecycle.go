package daemon

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// component is one long-running part of the daemon. run returns when its
// ctx ends (nil) or when the part fails (an error, which stops the
// daemon). Each part's constructor did what must happen before READY=1;
// run only loops.
type component struct {
	name string
	run  func(ctx context.Context) error
}

// runInOrder starts parts in order and runs them until ctx ends or one
// fails. Then it stops them in the reverse order, each one completely
// before the next is told to stop, so a part can rely on everything
// started before it for as long as it runs: the gRPC server stops before
// the broker it calls, the broker's flights end before the audit writer
// and the store go. It returns the first failure, or nil for a stop
// asked for by ctx.
func runInOrder(ctx context.Context, parts []component) error {
	g, failed := errgroup.WithContext(ctx)
	// Each part's ctx is its own: the stop order, not ctx, ends them.
	base := context.WithoutCancel(ctx)
	stops := make([]func(), 0, len(parts))
	for _, p := range parts {
		pctx, cancel := context.WithCancel(base)
		done := make(chan struct{})
		g.Go(func() error {
			defer close(done)
			if err := p.run(pctx); err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			return nil
		})
		stops = append(stops, func() { cancel(); <-done })
	}
	<-failed.Done()
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
	return g.Wait()
}
