package broker_test

import (
	"fmt"
	"testing"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// Metadata documents are exactly one JSON object with exact member names:
// encoding/json took the first of two objects, ignored data after it and
// matched "RESOURCE" or "Issuer" to resource and issuer. Each is refused
// before any ID-JAG is minted.
func TestMetadataMustBeExact(t *testing.T) {
	prm := func(bd *bed, format string) []byte {
		return fmt.Appendf(nil, format, bd.tb.MCP.URL(), bd.tb.AS.Issuer())
	}
	tests := []struct {
		name  string
		fault func(bd *bed) (testbed.Endpoint, []byte)
	}{
		{"PRM followed by a second object", func(bd *bed) (testbed.Endpoint, []byte) {
			return testbed.EndpointPRM, prm(bd, `{"resource":%q,"authorization_servers":[%q]}{"resource":"https://evil.example"}`)
		}},
		{"PRM followed by garbage", func(bd *bed) (testbed.Endpoint, []byte) {
			return testbed.EndpointPRM, prm(bd, `{"resource":%q,"authorization_servers":[%q]} x`)
		}},
		{"PRM with a case-variant resource", func(bd *bed) (testbed.Endpoint, []byte) {
			return testbed.EndpointPRM, prm(bd, `{"RESOURCE":%q,"authorization_servers":[%q]}`)
		}},
		{"AS metadata with a case-variant issuer", func(bd *bed) (testbed.Endpoint, []byte) {
			return testbed.EndpointASMetadata, fmt.Appendf(nil, `{"Issuer":%q,"token_endpoint":%q,"grant_types_supported":["urn:ietf:params:oauth:grant-type:jwt-bearer"]}`,
				bd.tb.AS.Issuer(), bd.tb.AS.TokenEndpoint())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bd := newBed(t, bedOpts{})
			ep, body := tt.fault(bd)
			bd.tb.SetFault(ep, testbed.Fault{Body: body})
			_, err := bd.token(t, broker.TokenRequest{})
			wantReason(t, err, broker.ReasonDiscoveryFailed)
			if n := bd.tb.TokenExchanges(); n != 0 {
				t.Errorf("%d ID-JAGs minted", n)
			}
		})
	}
}
