package testbed

import (
	"context"
	"io"
	"net/http"
	"strings"
)

// initializeRequest is an MCP initialize, the first request of a session.
const initializeRequest = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"testbed-caller","version":"1"}}}`

// PostInitialize sends an MCP initialize to the server with the given
// Authorization header value and DPoP header (none when proof is empty),
// as a client holding a token would, or a thief who copied one. It
// returns the response with its body read and closed: the status and the
// headers (WWW-Authenticate, DPoP-Nonce) are what tests look at.
func (m *MCPServer) PostInitialize(ctx context.Context, authorization, proof string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL(), strings.NewReader(initializeRequest))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", authorization)
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := m.tb.HTTPClient().Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxRequestBody))
	resp.Body.Close()
	return resp, nil
}
