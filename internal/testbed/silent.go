package testbed

import (
	"net"
	"sync"
	"sync/atomic"
)

// Silent is a TCP listener on loopback that accepts every connection and
// never answers: a URL whose discovery hangs until the client gives up.
type Silent struct {
	ln       net.Listener
	accepted atomic.Int64
	loop     sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn
}

// NewSilent starts a Silent listener; Close stops it.
func NewSilent() (*Silent, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Silent{ln: ln}
	s.loop.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.accepted.Add(1)
		}
	})
	return s, nil
}

// URL is the listener's base URL, http://127.0.0.1:PORT.
func (s *Silent) URL() string { return "http://" + s.ln.Addr().String() }

// Accepted counts the connections accepted so far.
func (s *Silent) Accepted() int64 { return s.accepted.Load() }

// Close stops accepting and closes every connection, so the requests
// waiting on them end now. It may be called more than once.
func (s *Silent) Close() {
	s.ln.Close()
	s.loop.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}
