package signin

import "time"

// Event is something a running sign-in wants shown to the person.
// Exactly one field is set.
type Event struct {
	// OpenURL is the IdP authorization URL to open in a browser.
	OpenURL string
	// Device is the code to enter at the IdP (device flow).
	Device *DeviceCode
	// Progress is a sentence to show while the sign-in waits.
	Progress string
}

// DeviceCode is an RFC 8628 user code and where to enter it.
type DeviceCode struct {
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	ExpiresAt               time.Time
	Interval                time.Duration
}

// emitter sends events to an optional sink.
type emitter func(Event)

func (e emitter) emit(ev Event) {
	if e != nil {
		e(ev)
	}
}
