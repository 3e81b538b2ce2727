package testdaemon

import "errors"

// Stop stops the daemon and leaves its socket path, state and testbed in
// place, as `systemctl --user stop xaad` would; clients connected to it see
// it go away. It returns the daemon's error, if it failed.
func (e *Env) Stop() error {
	if e.cancel == nil {
		return errors.New("testdaemon: the daemon is not running")
	}
	e.cancel()
	e.cancel = nil
	return <-e.done
}

// Start starts the daemon again after [Env.Stop], on the same socket and
// state (so it is still signed in), and returns once the socket serves.
func (e *Env) Start() error {
	if e.cancel != nil {
		return errors.New("testdaemon: the daemon is already running")
	}
	return e.serve()
}
