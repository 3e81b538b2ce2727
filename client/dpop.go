package client

import (
	"context"
	"strings"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// TokenTypeDPoP is the token type of a DPoP-bound access token (RFC 9449
// §5): it is sent as "Authorization: DPoP <token>" with a DPoP header
// holding a new proof, which only the daemon can sign, on every request.
const TokenTypeDPoP = "DPoP"

// DPoPRequest names the HTTP request a DPoP proof is for.
type DPoPRequest struct {
	// Method is the request's method, e.g. "POST".
	Method string
	// URL is the request's target; it must be on the origin of the MCP
	// server the token is for.
	URL string
	// Nonce is the last DPoP-Nonce header the server sent, if any.
	Nonce string
}

func (d *DPoPRequest) proto() *xaadv1.DPoPRequest {
	if d == nil {
		return nil
	}
	return &xaadv1.DPoPRequest{Method: d.Method, Url: d.URL, Nonce: d.Nonce}
}

// SignProofRequest asks the daemon for a DPoP proof.
type SignProofRequest struct {
	// Resource is the MCP server URL, as in [TokenRequest].
	Resource string
	// AccessToken is the DPoP-bound token the request carries.
	AccessToken string
	// Request is the HTTP request the proof is for.
	Request DPoPRequest
}

// ProofSigner signs DPoP proofs for requests to MCP servers. [*Client]
// implements it with the daemon's SignProof; the key never leaves the
// daemon.
type ProofSigner interface {
	SignProof(ctx context.Context, req SignProofRequest) (string, error)
}

// IsDPoP reports whether the token is DPoP-bound: it needs a proof of the
// daemon's key on every request, so it is useless without the daemon.
func (t Token) IsDPoP() bool { return strings.EqualFold(t.TokenType, TokenTypeDPoP) }

// SignProof returns a DPoP proof for one request made with req.AccessToken,
// for the value of its DPoP header. Each proof is good once: sign one per
// request.
func (c *Client) SignProof(ctx context.Context, req SignProofRequest) (string, error) {
	resp, err := c.rpc.SignProof(ctx, &xaadv1.SignProofRequest{
		Resource: req.Resource, AccessToken: req.AccessToken, Request: req.Request.proto(),
	})
	if err != nil {
		return "", c.FromStatus(err)
	}
	return resp.GetDpopProof(), nil
}
