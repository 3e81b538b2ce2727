//go:build !nodemo

package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/testbed"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// The --dpop part of the demo: the testbed speaks RFC 9449 everywhere,
// wants nonces at the AS and the MCP server (rotating), and the daemon
// runs under dpop = "required".

func (d *demo) testbedOptions() testbed.Options {
	if !d.dpop {
		return testbed.Options{}
	}
	return testbed.Options{DPoP: testbed.DPoPOptions{
		Enabled: true, RequireProof: true, RotateNonceEvery: 2,
		RequireNonce: []testbed.Endpoint{testbed.EndpointASToken, testbed.EndpointMCP},
	}}
}

func demoPolicy(dpop bool) string {
	if dpop {
		return "required"
	}
	return "auto"
}

// keyNote names the sign-in's DPoP key (its thumbprint: the key never
// leaves the daemon).
func (d *demo) keyNote(id *xaadv1.Identity) string {
	if !d.dpop {
		return ""
	}
	return fmt.Sprintf("\n    new %s DPoP key, thumbprint %s (sealed in the store, never exported)", id.GetDpopAlgorithm(), id.GetDpopJkt())
}

// grantNote says what the proofs at the IdP and the AS did.
func (d *demo) grantNote(tb *testbed.Testbed) string {
	if !d.dpop {
		return ""
	}
	c := tb.DPoPCounters()
	return fmt.Sprintf("\n    proofs accepted: IdP %d (the ID-JAG carries cnf.jkt), AS %d after %d use_dpop_nonce retry",
		c[testbed.EndpointIdPToken].Accepted, c[testbed.EndpointASToken].Accepted, c[testbed.EndpointASToken].NonceChallenges)
}

// dpopSteps shows what the MCP server checked and that a copied token is
// refused.
func (d *demo) dpopSteps(ctx context.Context, c *client.Client, tb *testbed.Testbed) error {
	if err := d.do("the MCP server checked a fresh proof on every request", func() (string, error) {
		m := tb.DPoPCounters()[testbed.EndpointMCP]
		if m.Rejected != 0 {
			return "", fmt.Errorf("the MCP server refused %d of xaad's proofs", m.Rejected)
		}
		return fmt.Sprintf("%d proofs accepted; %d use_dpop_nonce challenge(s), each answered with one retry (the nonce rotates every 2 proofs)", m.Accepted, m.NonceChallenges), nil
	}); err != nil {
		return err
	}
	return d.do("a copied token is refused (no proof, another key's proof)", func() (string, error) {
		tok, err := c.GetToken(ctx, client.TokenRequest{Resource: tb.MCP.URL()})
		if err != nil {
			return "", err
		}
		thief, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", err
		}
		forged, err := testbed.ForgeProof(thief, testbed.ForgeRequest{Method: http.MethodPost, URL: tb.MCP.URL(), AccessToken: tok.AccessToken, IssuedAt: tb.Now()})
		if err != nil {
			return "", err
		}
		var got []string
		for _, try := range []struct{ name, scheme, proof string }{
			{"as Bearer", "Bearer", ""}, {"without a proof", "DPoP", ""}, {"with the thief's proof", "DPoP", forged},
		} {
			resp, err := tb.MCP.PostInitialize(ctx, try.scheme+" "+tok.AccessToken, try.proof)
			if err != nil {
				return "", err
			}
			if resp.StatusCode != http.StatusUnauthorized {
				return "", fmt.Errorf("the copied token %s got HTTP %d", try.name, resp.StatusCode)
			}
			got = append(got, fmt.Sprintf("%s: %d", try.name, resp.StatusCode))
		}
		return strings.Join(got, "; "), nil
	})
}
