package daemon

import (
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/xaad-dev/xaad/internal/clock"
)

// scopeQuota bounds the scope sets one process asks for per server. The
// broker keeps a token per server and scope set and refreshes each in the
// background, so 500 different sets cost 500 exchanges and 500 grants now
// and at every refresh. The sets a process used are kept as hashes with the
// time of their last use; one unused for scopeSetIdle no longer counts.
type scopeQuota struct {
	clock clock.Clock
	seed  maphash.Seed

	mu   sync.Mutex
	used map[callerServer]map[uint64]time.Time
}

type callerServer struct {
	caller callerID
	server uint64 // hash of the URL
}

func newScopeQuota(c clock.Clock) *scopeQuota {
	return &scopeQuota{clock: c, seed: maphash.MakeSeed(), used: map[callerServer]map[uint64]time.Time{}}
}

// use records that caller asks server for scopes (a scopeSet), or refuses
// a set beyond the bound.
func (q *scopeQuota) use(caller callerID, server string, scopes []string) error {
	k := callerServer{caller: caller, server: q.hash(server)}
	set := q.hash(strings.Join(scopes, " "))
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	sets := q.used[k]
	if sets == nil {
		if len(q.used) >= maxTrackedCallers {
			q.pruneLocked(now)
		}
		sets = map[uint64]time.Time{}
		q.used[k] = sets
	}
	for s, at := range sets {
		if now.Sub(at) >= scopeSetIdle {
			delete(sets, s)
		}
	}
	if _, ok := sets[set]; !ok && len(sets) >= maxScopeSetsPerServer {
		return limitExceeded("process %d already asked for %d different scope sets for %s in the last %s, the limit per process and server; ask for one of those again, or for the scopes the server needs all at once",
			caller.pid, maxScopeSetsPerServer, server, scopeSetIdle)
	}
	sets[set] = now
	return nil
}

func (q *scopeQuota) hash(s string) uint64 { return maphash.String(q.seed, s) }

// pruneLocked forgets callers whose every set is idle, then, if that was
// not enough, the one used longest ago.
func (q *scopeQuota) pruneLocked(now time.Time) {
	var oldest callerServer
	var oldestAt time.Time
	for k, sets := range q.used {
		var last time.Time
		for _, at := range sets {
			if at.After(last) {
				last = at
			}
		}
		if now.Sub(last) >= scopeSetIdle {
			delete(q.used, k)
		} else if oldestAt.IsZero() || last.Before(oldestAt) {
			oldest, oldestAt = k, last
		}
	}
	if len(q.used) >= maxTrackedCallers {
		delete(q.used, oldest)
	}
}
