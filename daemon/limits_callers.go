package daemon

import (
	"context"
	"slices"
	"sync"

	"github.com/xaad-dev/xaad/internal/peercred"
)

// callerID names a calling process for the per-caller limits: its pid and
// start time, so a pid reused by another process is another caller.
type callerID struct {
	pid   int32
	start uint64
}

func callerOf(ctx context.Context) callerID {
	if p, ok := peercred.ProcessFromContext(ctx); ok {
		return callerID{pid: p.PID, start: p.StartTime}
	}
	cred, _ := peercred.FromContext(ctx)
	return callerID{pid: cred.PID}
}

// scopeSet is the scopes of a request as the broker keys its tokens:
// sorted, each once (the shape check has refused whitespace in a scope).
func scopeSet(scopes []string) []string {
	s := slices.Clone(scopes)
	slices.Sort(s)
	return slices.Compact(s)
}

// streamCount bounds the streams open at once, per caller and in total.
type streamCount struct {
	mu    sync.Mutex
	per   map[callerID]int
	total int
}

// acquire takes a place for one stream of id, or says which bound is full.
func (c *streamCount) acquire(id callerID) (release func(), err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.per[id] >= maxStreamsPerProcess {
		return nil, limitExceeded("process %d already has %d streams open (WatchTokens, health Watch, reflection, Login), the limit per process; watch several servers in one stream, or close one", id.pid, maxStreamsPerProcess)
	}
	if c.total >= maxStreams {
		return nil, limitExceeded("xaad already serves %d streams (WatchTokens, health Watch, reflection, Login), its limit for all callers together; retry once one ends", maxStreams)
	}
	if c.per == nil {
		c.per = map[callerID]int{}
	}
	c.per[id]++
	c.total++
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.per[id]--; c.per[id] == 0 {
				delete(c.per, id)
			}
			c.total--
		})
	}, nil
}
