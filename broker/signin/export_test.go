package signin

import "net/http"

// Taken is a redirect result the sign-in took.
type Taken struct {
	Code string
	Err  error
}

// CallbackHandlerForTest is the loopback handler of a sign-in with state,
// at issuer. Each result it takes is sent on taken before the handler is
// answered with its page, so a test that served a request knows whether
// one was taken. end ends the sign-in.
func CallbackHandlerForTest(issuer, state string) (h http.Handler, taken <-chan Taken, end func()) {
	s := newCallbackServer(issuer, state)
	ch := make(chan Taken, 8)
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			select {
			case r := <-s.results:
				ch <- Taken{r.code, r.err}
				r.reply <- resultPage(Person{Subject: "alice", Issuer: issuer}, r.err)
			case <-s.done:
				return
			}
		}
	}()
	return s, ch, func() { close(s.done); <-gone }
}

// PKCEChallenge exposes the S256 transform.
var PKCEChallenge = pkceChallenge
