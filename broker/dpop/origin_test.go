package dpop_test

import (
	"testing"

	"github.com/xaad-dev/xaad/broker/dpop"
)

// Nonces are remembered per origin and htu names the host the request goes
// to: both use the dialed (IDNA) form of the host, never Unicode case
// folding, so σ and ς are two origins and an IDN's htu is its A-label form.
func TestOriginUsesDialedHost(t *testing.T) {
	s, err1 := dpop.Origin("https://σ.example/mcp")
	f, err2 := dpop.Origin("https://ς.example/mcp")
	if err1 != nil || err2 != nil || s == f {
		t.Errorf("Origin(σ) = %q, %v; Origin(ς) = %q, %v: want two origins", s, err1, f, err2)
	}
	if got, err := dpop.HTU("https://Σ.example/mcp?x=1"); err != nil || got != "https://xn--4xa.example/mcp" {
		t.Errorf("HTU = %q, %v; want the A-label host", got, err)
	}
	if _, err := dpop.HTU("https://a\u200db.example/"); err == nil {
		t.Error("a host IDNA refuses was accepted")
	}
}
