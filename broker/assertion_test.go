package broker_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/internal/testbed"
)

func jti(t *testing.T, jwt string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		JTI string `json:"jti"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.JTI
}

// 1,000 concurrent GetAssertion calls get 1,000 distinct ID-JAGs, each of
// which the authorization server accepts exactly once.
func TestAssertionsAreNeverHandedOutTwice(t *testing.T) {
	// A thousand at once is far beyond the IdP's default rate limit, which
	// is not under test here: the most it allows lets them all through.
	bd := newBed(t, bedOpts{configure: func(c *broker.Config) { c.Limits.IdP = unlimited }})
	ctx := context.Background()
	const n = 1000
	got := make([]*broker.Assertion, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = bd.b.Assertion(ctx, broker.AssertionRequest{ServerURL: bd.tb.MCP.URL()})
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		id := jti(t, got[i].Assertion)
		if seen[id] {
			t.Fatalf("jti %s handed out twice", id)
		}
		seen[id] = true
		if got[i].Audience != bd.tb.AS.Issuer() || got[i].Resource != bd.tb.MCP.URL() {
			t.Fatalf("assertion for %q %q", got[i].Audience, got[i].Resource)
		}
	}
	o := bd.tb.Options()
	ep := &grant.Endpoint{URL: bd.tb.AS.TokenEndpoint(), Issuer: bd.tb.AS.Issuer(), Auth: grant.ClientAuth{ClientID: o.ASClient.ID, Secret: o.ASClient.Secret}}
	var accepted sync.WaitGroup
	fails := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := range n {
		accepted.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; accepted.Done() }()
			if _, err := grant.JWTBearer(ctx, ep, grant.BearerRequest{Assertion: got[i].Assertion, Resource: bd.tb.MCP.URL()}); err != nil {
				fails <- err
			}
		}()
	}
	accepted.Wait()
	close(fails)
	for err := range fails {
		t.Fatalf("the AS refused a served assertion: %v", err)
	}
	if _, err := grant.JWTBearer(ctx, ep, grant.BearerRequest{Assertion: got[0].Assertion, Resource: bd.tb.MCP.URL()}); err == nil {
		t.Fatal("the testbed accepted a replayed assertion; the test proves nothing")
	}
}

// A caller that asks repeatedly gets a spare minted ahead; the spare is
// served once, never twice.
func TestAssertionSpare(t *testing.T) {
	bd := newBed(t, bedOpts{})
	ctx := context.Background()
	req := broker.AssertionRequest{ServerURL: bd.tb.MCP.URL(), Scopes: []string{"tools.read"}}
	a1, err := bd.b.Assertion(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := bd.b.Assertion(ctx, req) // recent: a spare is minted after it
	if err != nil {
		t.Fatal(err)
	}
	a3, err := bd.b.Assertion(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if a1.Assertion == a2.Assertion || a2.Assertion == a3.Assertion || a1.Assertion == a3.Assertion {
		t.Fatal("an assertion was served twice")
	}
}

func TestAssertionAudiencePolicy(t *testing.T) {
	bd := newBed(t, bedOpts{})
	_, err := bd.b.Assertion(context.Background(), broker.AssertionRequest{Audience: "https://unknown-as.example"})
	wantReason(t, err, broker.ReasonServerNotAllowed)
	if n := bd.tb.Requests(testbed.EndpointIdPToken); n != 0 {
		t.Errorf("%d exchanges for an unknown audience", n)
	}
	// A configured authorization server may be named directly.
	a, err := bd.b.Assertion(context.Background(), broker.AssertionRequest{Audience: bd.tb.AS.Issuer(), Resource: bd.tb.MCP.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if a.Audience != bd.tb.AS.Issuer() {
		t.Errorf("audience %q", a.Audience)
	}
}
