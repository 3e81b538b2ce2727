package broker_test

import (
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// docs/protocol.md §6 item 6 and the PRM fallbacks.
func TestDiscoveryVariants(t *testing.T) {
	tests := []struct {
		name string
		opts testbed.Options
	}{
		{"issuer with a path", testbed.Options{ASIssuerPath: "/tenant1"}},
		{"OIDC-only AS", testbed.Options{ASMetadata: testbed.MetadataOIDC}},
		{"OIDC-only AS with a path", testbed.Options{ASMetadata: testbed.MetadataOIDC, ASIssuerPath: "/t/2"}},
		{"root PRM, no challenge hint", testbed.Options{PRM: testbed.PRMRoot, ChallengeWithoutResourceMetadata: true}},
		{"path PRM, no challenge hint", testbed.Options{ChallengeWithoutResourceMetadata: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bd := newBed(t, bedOpts{tb: tt.opts})
			tok, err := bd.token(t, broker.TokenRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if tok.AuthServer != bd.tb.AS.Issuer() {
				t.Errorf("AS %q, want %q", tok.AuthServer, bd.tb.AS.Issuer())
			}
		})
	}
}

// docs/protocol.md §6 items 3, 4, 5 and the hostile-peer rules: each aborts
// before any ID-JAG is minted.
func TestSecurityAborts(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(bd *bed)
		url    func(bd *bed) string
		reason broker.Reason
		// hang: the case waits for the broker's timeout, cut to a second.
		// The others keep the default, so that a loaded machine's slow
		// transfer of 2 MiB is not taken for an unavailable upstream.
		hang bool
	}{
		{"PRM resource mismatch", func(bd *bed) {
			bd.tb.MCP.SetTweaks(testbed.MCPTweaks{PRMResource: "https://evil.example/mcp"})
		}, nil, broker.ReasonDiscoveryFailed, false},
		{"PRM without authorization servers", func(bd *bed) {
			bd.tb.MCP.SetTweaks(testbed.MCPTweaks{PRMAuthorizationServers: []string{}})
		}, nil, broker.ReasonDiscoveryFailed, false},
		{"PRM names a non-loopback http AS", func(bd *bed) {
			bd.tb.MCP.SetTweaks(testbed.MCPTweaks{PRMAuthorizationServers: []string{"http://as.example.com"}})
		}, nil, broker.ReasonDiscoveryFailed, false},
		{"AS issuer mismatch", func(bd *bed) {
			bd.tb.AS.SetTweaks(testbed.ASTweaks{MetadataIssuer: "https://evil.example"})
		}, nil, broker.ReasonDiscoveryFailed, false},
		{"AS issuer differs by a trailing slash", func(bd *bed) {
			bd.tb.AS.SetTweaks(testbed.ASTweaks{MetadataIssuer: bd.tb.AS.Issuer() + "/"})
		}, nil, broker.ReasonDiscoveryFailed, false},
		{"AS without jwt-bearer", func(bd *bed) {
			bd.tb.AS.SetTweaks(testbed.ASTweaks{OmitJWTBearer: true})
		}, nil, broker.ReasonDiscoveryFailed, false},
		{"oversized PRM", func(bd *bed) {
			bd.tb.SetFault(testbed.EndpointPRM, testbed.Fault{OversizeBytes: 2 << 20})
		}, nil, broker.ReasonDiscoveryFailed, false},
		{"garbage PRM", func(bd *bed) {
			bd.tb.SetFault(testbed.EndpointPRM, testbed.Fault{Body: []byte("<html>not json")})
		}, nil, broker.ReasonDiscoveryFailed, false},
		{"wrongly typed AS metadata", func(bd *bed) {
			bd.tb.SetFault(testbed.EndpointASMetadata, testbed.Fault{Body: []byte(`{"issuer": 42}`)})
		}, nil, broker.ReasonDiscoveryFailed, false},
		{"non-loopback http server URL", nil, func(*bed) string { return "http://mcp.example.com/mcp" }, broker.ReasonInvalidArgument, false},
		{"malformed server URL", nil, func(*bed) string { return "https://exa mple/%zz" }, broker.ReasonInvalidArgument, false},
		{"MCP server never answers", func(bd *bed) {
			bd.tb.SetFault(testbed.EndpointMCP, testbed.Fault{Hang: true})
		}, nil, broker.ReasonUpstreamUnavailable, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts bedOpts
			if tt.hang {
				opts.configure = func(c *broker.Config) { c.Timeout = time.Second }
			}
			bd := newBed(t, opts)
			if tt.setup != nil {
				tt.setup(bd)
			}
			req := broker.TokenRequest{}
			if tt.url != nil {
				req.ServerURL = tt.url(bd)
			}
			_, err := bd.token(t, req)
			wantReason(t, err, tt.reason)
			if n := bd.tb.TokenExchanges(); n != 0 {
				t.Errorf("%d ID-JAGs minted despite the abort", n)
			}
			if n := bd.tb.Requests(testbed.EndpointIdPToken); n != 0 {
				t.Errorf("%d requests reached the IdP token endpoint", n)
			}
		})
	}
}

// Metadata that failed validation is not kept: once the server is fixed the
// next request succeeds.
func TestBadMetadataIsNotHalfUsed(t *testing.T) {
	// Listed: an unlisted server's failure is answered for a while
	// without looking again (unlisted_test.go).
	bd := newBed(t, bedOpts{listed: true})
	bd.tb.AS.SetTweaks(testbed.ASTweaks{MetadataIssuer: "https://evil.example"})
	if _, err := bd.token(t, broker.TokenRequest{}); err == nil {
		t.Fatal("mix-up accepted")
	}
	bd.tb.AS.SetTweaks(testbed.ASTweaks{})
	// The background's backoff does not hold a caller back: the next
	// request looks again and succeeds.
	if _, err := bd.token(t, broker.TokenRequest{}); err != nil {
		t.Fatal(err)
	}
	info := bd.b.Servers()[0]
	if info.LastError != "" || info.Counters.Failures != 1 {
		t.Errorf("server info after recovery: %+v", info)
	}
}
