package daemon

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
)

// Parts stop in the reverse of their start order, each only after the one
// started after it has returned; a failing part stops the rest and its
// error is returned.
func TestRunInOrderStopsInReverse(t *testing.T) {
	for _, fail := range []bool{false, true} {
		var mu sync.Mutex
		var events []string
		note := func(s string) { mu.Lock(); events = append(events, s); mu.Unlock() }
		running := make(chan struct{}, 3)
		part := func(name string) component {
			return component{name: name, run: func(ctx context.Context) error {
				note("start " + name)
				running <- struct{}{}
				<-ctx.Done()
				note("stop " + name)
				return nil
			}}
		}
		ctx, cancel := context.WithCancel(context.Background())
		parts := []component{part("store"), part("broker"), part("server")}
		boom := errors.New("boom")
		trigger := make(chan struct{})
		if fail {
			parts = append(parts, component{name: "watchdog", run: func(context.Context) error { <-trigger; return boom }})
		}
		done := make(chan error, 1)
		go func() { done <- runInOrder(ctx, parts) }()
		for range 3 {
			<-running
		}
		if fail {
			close(trigger)
		} else {
			cancel()
		}
		err := <-done
		cancel()
		if fail && !errors.Is(err, boom) || !fail && err != nil {
			t.Fatalf("fail=%v: runInOrder = %v", fail, err)
		}
		stops := slices.DeleteFunc(slices.Clone(events), func(s string) bool { return s[:5] == "start" })
		if want := []string{"stop server", "stop broker", "stop store"}; !slices.Equal(stops, want) {
			t.Fatalf("fail=%v: stopped %q, want %q", fail, stops, want)
		}
	}
}
