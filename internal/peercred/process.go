package peercred

import (
	"context"
	"errors"
	"sync"
)

// Process is what /proc said about the peer process when its connection was
// accepted. The daemon's caller policy and audit log read it; see
// [ProcessFromContext].
//
// The pid alone proves nothing: it can be reused once the process exits. So
// the process is pinned at accept time (a pidfd from SO_PEERPIDFD where the
// kernel has it, and a /proc/<pid> directory descriptor with the start time
// otherwise, as SPIRE's peertracker does), every later read goes through
// that pin, and [Process.Alive] re-checks it before a decision is used.
type Process struct {
	PID int32
	// Exe is the executable's path as the kernel reports it; a replaced
	// or deleted binary shows as "PATH (deleted)".
	Exe string
	// SHA256 is the hex SHA-256 of the bytes the process runs.
	SHA256 string
	// StartTime is field 22 of /proc/<pid>/stat (clock ticks after boot).
	StartTime uint64
	// Err says why the above could not be read: the process exited before
	// it was identified, or /proc refused (a non-dumpable process).
	Err error

	h *handle
}

// ErrExited means the peer process is gone: it exited before it was
// identified, or after, while its connection lived on (passed to a child,
// or its pid reused).
var ErrExited = errors.New("the calling process has exited")

// Alive returns nil while the identified process still runs the same
// executable. It is cheap (a signal 0 through the pidfd and an fstatat),
// and should be called after a decision is made and before it is acted on.
func (p *Process) Alive() error {
	if p == nil {
		return errors.New("caller not identified")
	}
	if p.Err != nil {
		return p.Err
	}
	return p.h.alive()
}

// ProcessFromContext returns the caller's process in a gRPC handler or
// interceptor, and whether the connection carried one.
func ProcessFromContext(ctx context.Context) (*Process, bool) {
	ai, ok := authInfoFrom(ctx)
	if !ok || ai.Process == nil {
		return nil, false
	}
	return ai.Process, true
}

// hashCache remembers executable hashes by file identity, so a client that
// connects often is hashed once. A changed file has a new ctime or inode
// and misses.
type hashCache struct {
	mu sync.Mutex
	m  map[fileID]string
}

type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

// maxCached bounds the cache; it is cleared when full, which only costs a
// re-hash.
const maxCached = 256

func (c *hashCache) get(id fileID) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[id]
	return s, ok
}

func (c *hashCache) put(id fileID, sum string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = map[fileID]string{}
	}
	c.m[id] = sum
}
