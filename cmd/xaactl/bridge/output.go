package bridge

import (
	"io"
	"sync"
)

// output writes whole lines to the client's stdout, one at a time, so no
// two messages interleave. After a failed write it drops what follows: the
// client is gone, and the session ends when its stdin does.
type output struct {
	mu     sync.Mutex
	w      io.Writer
	broken bool
}

func (o *output) line(b []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.broken {
		return
	}
	if _, err := o.w.Write(append(b, '\n')); err != nil {
		o.broken = true
	}
}
