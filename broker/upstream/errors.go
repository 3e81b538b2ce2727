package upstream

import (
	"errors"
	"fmt"
	"time"
)

// Reasons a [WaitError] gives; match them with errors.Is.
var (
	// ErrHeld: a server's 429 or 503 named a time to come back that is
	// later than the request's deadline.
	ErrHeld = errors.New("the server asked for a pause")
	// ErrLimited: the client-side rate limit has no slot for the request
	// before its deadline.
	ErrLimited = errors.New("the client-side rate limit has no slot before the deadline")
	// ErrQueueFull: too many requests are already waiting at this
	// endpoint; see [Config.MaxQueue].
	ErrQueueFull = errors.New("too many requests waiting")
)

// WaitError is a request turned away before it waited in vain: its
// deadline comes before its turn, or the queue is full. Until is the time
// it could have gone, so the caller can say when to try again.
type WaitError struct {
	// Name is the gate's [Config.Name].
	Name     string
	Priority Priority
	// Until is the earliest time the request could have gone, if nothing
	// changes (for a background request: if no caller comes first).
	Until time.Time
	// Deadline is the request's deadline; zero when it had none.
	Deadline time.Time
	// Hold is the server's answer that holds the endpoint, when Reason
	// is ErrHeld.
	Hold Hint
	// Setting names the configuration that sets the limit, from
	// [Config.Setting].
	Setting string
	// Reason is ErrHeld, ErrLimited or ErrQueueFull.
	Reason error
}

func (e *WaitError) Error() string {
	until := e.Until.UTC().Format(time.RFC3339)
	switch e.Reason {
	case ErrHeld:
		return fmt.Sprintf("%s: %v (%s) and its deadline comes first: try again after %s",
			e.Name, ErrHeld, e.Hold, until)
	case ErrQueueFull:
		return fmt.Sprintf("%s: %v: try again after %s", e.Name, ErrQueueFull, until)
	default:
		s := fmt.Sprintf("%s: %v (its turn is at %s): try again then", e.Name, ErrLimited, until)
		if e.Setting != "" {
			s += ", or raise " + e.Setting
		}
		return s
	}
}

// Unwrap returns Reason.
func (e *WaitError) Unwrap() error { return e.Reason }
