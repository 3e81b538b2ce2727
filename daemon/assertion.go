package daemon

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xaad-dev/xaad/broker"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

func (s *service) GetAssertion(ctx context.Context, req *xaadv1.GetAssertionRequest) (*xaadv1.GetAssertionResponse, error) {
	var ar broker.AssertionRequest
	switch t := req.GetTarget().(type) {
	case *xaadv1.GetAssertionRequest_Resource:
		ar.ServerURL = t.Resource
	case *xaadv1.GetAssertionRequest_Audience:
		ar.Audience, ar.Resource = t.Audience, req.GetResourceHint()
	default:
		return nil, invalidArgument("name the MCP server (resource) or its authorization server (audience)")
	}
	if ar.ServerURL == "" && ar.Audience == "" {
		return nil, invalidArgument("resource or audience is empty")
	}
	ar.Scopes = req.GetScopes()
	a, err := s.b.Assertion(ctx, ar)
	if err != nil {
		return nil, toStatus(err)
	}
	return &xaadv1.GetAssertionResponse{
		Assertion: a.Assertion, ExpiresAt: timestamppb.New(a.ExpiresAt),
		Audience: a.Audience, Resource: a.Resource, Scopes: a.Scopes,
	}, nil
}
