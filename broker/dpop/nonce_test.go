package dpop_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/xaad-dev/xaad/broker/dpop"
)

func TestNoncesPerOrigin(t *testing.T) {
	var n dpop.Nonces // the zero value works
	if !n.Set("https://as.example/token", "n1") {
		t.Fatal("Set refused a valid nonce")
	}
	// Same origin, other path and spelling: the same server.
	if got := n.Get("HTTPS://AS.example:443/other?q"); got != "n1" {
		t.Errorf("Get same origin = %q", got)
	}
	for _, other := range []string{"http://as.example/token", "https://as.example:8443/token", "https://rs.example/token"} {
		if got := n.Get(other); got != "" {
			t.Errorf("Get(%s) = %q, want nothing: another origin", other, got)
		}
	}
	n.Set("https://as.example/token", "n2")
	if got := n.Get("https://as.example/token"); got != "n2" {
		t.Errorf("after rotation Get = %q, want n2", got)
	}
	n.Forget("https://as.example/x")
	if got := n.Get("https://as.example/token"); got != "" || n.Len() != 0 {
		t.Errorf("after Forget: %q, %d entries", got, n.Len())
	}
}

func TestNoncesRefuseBadInput(t *testing.T) {
	n := dpop.NewNonces(4)
	for _, nonce := range []string{"", "a b", `a"b`, `a\b`, "é", "a\nb", strings.Repeat("x", 1025)} {
		if n.Set("https://as.example/", nonce) {
			t.Errorf("Set accepted nonce %q", nonce)
		}
	}
	if n.Set("ftp://as.example/", "ok") || n.Set("not a url", "ok") {
		t.Error("Set accepted a non-http origin")
	}
	if n.Len() != 0 {
		t.Errorf("Len = %d after refusals", n.Len())
	}
	h := http.Header{}
	h.Add("DPoP-Nonce", "a")
	h.Add("DPoP-Nonce", "b")
	if n.Observe("https://as.example/", h) {
		t.Error("Observe took one of two DPoP-Nonce headers")
	}
}

func TestNoncesBounded(t *testing.T) {
	n := dpop.NewNonces(3)
	for i := range 10 {
		n.Set(fmt.Sprintf("https://s%d.example/", i), fmt.Sprintf("n%d", i))
	}
	if n.Len() != 3 {
		t.Fatalf("Len = %d, want the bound 3", n.Len())
	}
	// Least recently used goes first: touching s7 keeps it over s8.
	n.Get("https://s7.example/")
	n.Set("https://s10.example/", "n10")
	if n.Get("https://s7.example/") != "n7" || n.Get("https://s8.example/") != "" || n.Get("https://s9.example/") != "n9" {
		t.Error("eviction did not drop the least recently used origin")
	}
}

func TestNoncesConcurrent(t *testing.T) {
	n := dpop.NewNonces(8)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				target := fmt.Sprintf("https://s%d.example/", (g+i)%12)
				h := http.Header{"Dpop-Nonce": {fmt.Sprintf("n%d-%d", g, i)}}
				n.Observe(target, h)
				if got := n.Get(target); got != "" && !strings.HasPrefix(got, "n") {
					t.Errorf("Get = %q", got)
				}
			}
		}()
	}
	wg.Wait()
	if n.Len() > 8 {
		t.Errorf("Len = %d over the bound", n.Len())
	}
}
