package daemon

import (
	"context"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/broker/grant"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// service adapts the broker to the xaad.v1 API. It holds no state of its
// own beyond what Status reports about the process.
type service struct {
	xaadv1.UnimplementedXaadServiceServer
	b       *broker.Broker
	started time.Time
	version string
	// warnings are shown by Status, for example a weak key provider.
	warnings []string
}

func (s *service) GetToken(ctx context.Context, req *xaadv1.GetTokenRequest) (*xaadv1.GetTokenResponse, error) {
	if req.GetResource() == "" {
		return nil, invalidArgument("resource (the MCP server URL) is required")
	}
	var minValid time.Duration
	if mv := req.GetMinValidFor(); mv != nil {
		if err := mv.CheckValid(); err != nil {
			return nil, invalidArgument("min_valid_for: " + err.Error())
		}
		minValid = mv.AsDuration()
		if minValid < 0 || minValid > 24*time.Hour {
			return nil, invalidArgument("min_valid_for must be between 0 and 24h")
		}
	}
	for _, sc := range req.GetScopes() {
		if strings.ContainsAny(sc, "\"\\") || strings.ContainsFunc(sc, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			return nil, invalidArgument("scope values must be printable ASCII without quotes or backslashes (RFC 6749 §3.3)")
		}
	}
	if d := req.GetDpop(); d != nil && (d.GetMethod() == "" || d.GetUrl() == "") {
		return nil, invalidArgument("dpop: method and url are required")
	}
	ch, err := challengeOf(req)
	if err != nil {
		return nil, err
	}
	t, err := s.b.Token(ctx, broker.TokenRequest{
		ServerURL: req.GetResource(), Scopes: req.GetScopes(), MinValid: minValid, Force: req.GetForceRefresh(), Challenge: ch,
	})
	if err != nil {
		return nil, toStatus(err)
	}
	resp := tokenProto(t)
	if d := req.GetDpop(); d != nil && t.Type == grant.TokenTypeDPoP {
		// The proof of the first request rides along: one round trip.
		if resp.DpopProof, err = s.b.Proof(proofRequest(req.GetResource(), t.AccessToken, d)); err != nil {
			return nil, toStatus(err)
		}
	}
	return resp, nil
}

func (s *service) SignProof(_ context.Context, req *xaadv1.SignProofRequest) (*xaadv1.SignProofResponse, error) {
	d := req.GetRequest()
	if req.GetResource() == "" || req.GetAccessToken() == "" || d.GetMethod() == "" || d.GetUrl() == "" {
		return nil, invalidArgument("resource, access_token, request.method and request.url are required")
	}
	proof, err := s.b.Proof(proofRequest(req.GetResource(), req.GetAccessToken(), d))
	if err != nil {
		return nil, toStatus(err)
	}
	return &xaadv1.SignProofResponse{DpopProof: proof}, nil
}

func proofRequest(resource, token string, d *xaadv1.DPoPRequest) broker.ProofRequest {
	return broker.ProofRequest{ServerURL: resource, AccessToken: token, Method: d.GetMethod(), URL: d.GetUrl(), Nonce: d.GetNonce()}
}

func tokenProto(t *broker.Token) *xaadv1.GetTokenResponse {
	src := map[broker.Source]xaadv1.TokenSource{
		broker.SourceMemory:  xaadv1.TokenSource_TOKEN_SOURCE_MEMORY,
		broker.SourceDisk:    xaadv1.TokenSource_TOKEN_SOURCE_DISK,
		broker.SourceNetwork: xaadv1.TokenSource_TOKEN_SOURCE_NETWORK,
	}[t.Source]
	return &xaadv1.GetTokenResponse{
		AccessToken:         t.AccessToken,
		TokenType:           t.Type,
		ExpiresAt:           timestamppb.New(t.ExpiresAt),
		Scopes:              t.Scopes,
		Resource:            t.Resource,
		AuthorizationServer: t.AuthServer,
		Source:              src,
		Stale:               t.Stale,
		StaleReason:         t.StaleReason,
		RefreshedAt:         timestamppb.New(t.RefreshedAt),
		NextRefreshAt:       optTime(t.NextRefreshAt),
	}
}

// optTime leaves a zero time unset rather than sending 1970.
func optTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func (s *service) Status(context.Context, *xaadv1.StatusRequest) (*xaadv1.StatusResponse, error) {
	resp := &xaadv1.StatusResponse{
		Identity:  identityProto(s.b.Identity()),
		Version:   s.version,
		StartedAt: timestamppb.New(s.started),
		Warnings:  s.warnings,
	}
	// The unlisted servers whose first token is on its way come after the
	// registered ones.
	resp.Servers, resp.ServersOmitted = listServers(append(s.b.Servers(), s.b.PendingServers()...))
	if resp.ServersOmitted > 0 {
		resp.Warnings = append(slices.Clip(s.warnings), omittedWarning(resp.ServersOmitted))
	}
	for _, u := range s.b.Upstreams() {
		resp.Upstreams = append(resp.Upstreams, upstreamProto(u))
	}
	return resp, nil
}

func (s *service) AddServer(ctx context.Context, req *xaadv1.AddServerRequest) (*xaadv1.AddServerResponse, error) {
	if req.GetUrl() == "" {
		return nil, invalidArgument("url is required")
	}
	si, err := s.b.AddServer(ctx, req.GetUrl(), req.GetScopes(), req.GetKeepWarm())
	if err != nil {
		return nil, toStatus(err)
	}
	return &xaadv1.AddServerResponse{Server: serverProto(si)}, nil
}

func (s *service) RemoveServer(ctx context.Context, req *xaadv1.RemoveServerRequest) (*xaadv1.RemoveServerResponse, error) {
	if req.GetUrl() == "" {
		return nil, invalidArgument("url is required")
	}
	if err := s.b.RemoveServer(ctx, req.GetUrl()); err != nil {
		return nil, toStatus(err)
	}
	return &xaadv1.RemoveServerResponse{}, nil
}

func (s *service) ListServers(context.Context, *xaadv1.ListServersRequest) (*xaadv1.ListServersResponse, error) {
	resp := &xaadv1.ListServersResponse{}
	resp.Servers, resp.ServersOmitted = listServers(s.b.Servers())
	return resp, nil
}

func identityProto(i broker.IdentityInfo) *xaadv1.Identity {
	st := map[broker.IdentityState]xaadv1.IdentityState{
		broker.SignedOut:  xaadv1.IdentityState_IDENTITY_STATE_SIGNED_OUT,
		broker.SignedIn:   xaadv1.IdentityState_IDENTITY_STATE_SIGNED_IN,
		broker.NeedsLogin: xaadv1.IdentityState_IDENTITY_STATE_NEEDS_LOGIN,
		broker.Refreshing: xaadv1.IdentityState_IDENTITY_STATE_REFRESHING,
	}[i.State]
	p := &xaadv1.Identity{Issuer: i.Issuer, Subject: i.Subject, State: st, HasRefreshToken: i.HasRefreshToken, LoginHintReason: i.Reason,
		MaxAge: i.MaxAge, AcrValues: i.ACRValues, DpopJkt: i.DPoPThumbprint, DpopAlgorithm: i.DPoPAlgorithm,
		NextLoginPrompt: i.NextPrompt, NextLoginPromptReason: i.NextPromptReason}
	if !i.ExpiresAt.IsZero() {
		p.IdTokenExpiresAt = timestamppb.New(i.ExpiresAt)
	}
	return p
}

// serverStates maps every broker state to the API's.
var serverStates = map[broker.ServerState]xaadv1.ServerState{
	broker.ServerIdle:        xaadv1.ServerState_SERVER_STATE_IDLE,
	broker.ServerDiscovering: xaadv1.ServerState_SERVER_STATE_DISCOVERING,
	broker.ServerReady:       xaadv1.ServerState_SERVER_STATE_READY,
	broker.ServerRefreshing:  xaadv1.ServerState_SERVER_STATE_REFRESHING,
	broker.ServerStale:       xaadv1.ServerState_SERVER_STATE_STALE,
	broker.ServerFailed:      xaadv1.ServerState_SERVER_STATE_FAILED,
	broker.ServerNeedsLogin:  xaadv1.ServerState_SERVER_STATE_NEEDS_LOGIN,
}

func serverProto(si broker.ServerInfo) *xaadv1.ServerStatus {
	c := si.Counters
	p := &xaadv1.ServerStatus{
		Url: si.URL, Resource: si.Resource, AuthorizationServer: si.AuthServer, Scopes: si.Scopes,
		KeepWarm: si.KeepWarm, LastError: si.LastError, State: serverStates[si.State],
		Counters: &xaadv1.ServerCounters{
			Refreshes: c.Refreshes, Failures: c.Failures, CacheHits: c.CacheHits, Requests: c.Requests,
			TokenExchanges: c.TokenExchanges, JwtBearerGrants: c.JWTBearerGrants, AssertionsServed: c.AssertionsServed,
		},
		LastUsedAt: optTime(si.LastUsedAt),
		TokenType:  si.TokenType, Dpop: string(si.DPoP),
	}
	switch si.Origin {
	case broker.OriginConfig:
		p.Origin = xaadv1.ServerOrigin_SERVER_ORIGIN_CONFIG
	case broker.OriginUser:
		p.Origin = xaadv1.ServerOrigin_SERVER_ORIGIN_USER
	}
	if si.LastErrorReason != "" {
		if v, ok := xaadv1.Reason_value["REASON_"+string(si.LastErrorReason)]; ok {
			p.LastErrorReason = xaadv1.Reason(v)
		}
	}
	if !si.TokenExpiresAt.IsZero() {
		p.TokenExpiresAt = timestamppb.New(si.TokenExpiresAt)
	}
	if !si.LastRefreshAt.IsZero() {
		p.LastRefreshAt = timestamppb.New(si.LastRefreshAt)
	}
	p.NextRefreshAt = optTime(si.NextRefreshAt)
	return p
}
