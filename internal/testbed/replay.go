package testbed

import (
	"sync"
	"time"
)

// replayStore remembers one-time identifiers (jti) until they expire. One
// store per server stands in for the store shared across AS instances that
// EMA §7.4.2 requires; the testbed runs one instance.
type replayStore struct {
	mu   sync.Mutex
	seen map[string]time.Time // key -> forget after
}

func newReplayStore() *replayStore { return &replayStore{seen: map[string]time.Time{}} }

// use records key until "until" and reports whether it was unused. Expired
// entries are dropped on the way, so the map stays small.
func (s *replayStore) use(key string, until, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.seen {
		if now.After(t) {
			delete(s.seen, k)
		}
	}
	if _, dup := s.seen[key]; dup {
		return false
	}
	s.seen[key] = until
	return true
}
