package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/broker/dpop"
	"github.com/xaad-dev/xaad/internal/auditlog"
	"github.com/xaad-dev/xaad/internal/clock"
	"github.com/xaad-dev/xaad/internal/errinfo"
	"github.com/xaad-dev/xaad/internal/peercred"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// methodRule says how the guard treats one RPC. A method without a rule
// is refused (denyUnknown): a method added to the API without a decision
// about it cannot slip past the policy. TestEveryMethodHasARule checks
// every method the daemon's server registers.
type methodRule struct {
	audit bool // write an audit event
	token bool // hands out token material: the caller policy applies
}

var methodRules = rulesFor()

func rulesFor() map[string]methodRule {
	r := map[string]methodRule{
		xaadv1.XaadService_GetToken_FullMethodName:     {audit: true, token: true},
		xaadv1.XaadService_GetAssertion_FullMethodName: {audit: true, token: true},
		xaadv1.XaadService_WatchTokens_FullMethodName:  {audit: true, token: true},
		// Signs with the identity's key, for one server's origin: the same
		// caller policy as that server's tokens.
		xaadv1.XaadService_SignProof_FullMethodName:    {audit: true, token: true},
		xaadv1.XaadService_Login_FullMethodName:        {audit: true},
		xaadv1.XaadService_Logout_FullMethodName:       {audit: true},
		xaadv1.XaadService_AddServer_FullMethodName:    {audit: true},
		xaadv1.XaadService_RemoveServer_FullMethodName: {audit: true},
		xaadv1.XaadService_Status_FullMethodName:       {},
		xaadv1.XaadService_ListServers_FullMethodName:  {},
	}
	// Health and reflection carry no credentials: uid-checked only.
	for _, sd := range []*grpc.ServiceDesc{&healthpb.Health_ServiceDesc, &reflectionv1.ServerReflection_ServiceDesc, &reflectionv1alpha.ServerReflection_ServiceDesc} {
		for _, m := range sd.Methods {
			r["/"+sd.ServiceName+"/"+m.MethodName] = methodRule{}
		}
		for _, st := range sd.Streams {
			r["/"+sd.ServiceName+"/"+st.StreamName] = methodRule{}
		}
	}
	return r
}

// guard holds the caller policy and the audit log for the interceptors.
// The policy is swapped whole by a reload (setPolicy); each check uses the
// one current when it starts.
type guard struct {
	policy atomic.Pointer[policy]
	rules  map[string]methodRule // methodRules; tests add their own
	audit  *auditLog
	log    *slog.Logger
	clock  clock.Clock
}

func newGuard(audit *auditLog, c clock.Clock, log *slog.Logger) *guard {
	return &guard{rules: methodRules, audit: audit, clock: c, log: log}
}

// denyUnknown refuses a method the rules do not know.
func (g *guard) denyUnknown(method string) error {
	g.log.Error("refused a method without an access rule", slog.String("method", method))
	return withReason(codes.PermissionDenied, string(broker.ReasonInternal),
		"permission denied: xaad has no access rule for "+method+", so it refuses it; this is a bug in xaad, please report it")
}

// auditUnary is the outermost interceptor, so refusals by the uid check
// and the policy are recorded too.
func (g *guard) auditUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	resp, err := h(ctx, req)
	if rule, ok := g.rules[info.FullMethod]; !ok || rule.audit {
		g.record(ctx, info.FullMethod, req, resp, err)
	}
	return resp, err
}

func (g *guard) auditStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	rs := &recvStream{ServerStream: ss}
	err := h(srv, rs)
	if rule, ok := g.rules[info.FullMethod]; !ok || rule.audit {
		g.record(ss.Context(), info.FullMethod, rs.first, nil, err)
	}
	return err
}

// policyUnary runs after the uid check and before the handler, so the
// broker is only ever called for an allowed caller.
func (g *guard) policyUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	rule, ok := g.rules[info.FullMethod]
	if !ok {
		return nil, g.denyUnknown(info.FullMethod)
	}
	if rule.token {
		if err := g.check(ctx, info.FullMethod, req); err != nil {
			return nil, err
		}
	}
	return h(ctx, req)
}

func (g *guard) policyStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	rule, ok := g.rules[info.FullMethod]
	if !ok {
		return g.denyUnknown(info.FullMethod)
	}
	if !rule.token {
		return h(srv, ss)
	}
	rs := &recvStream{ServerStream: ss, check: func(m any) error { return g.check(ss.Context(), info.FullMethod, m) }}
	if info.FullMethod == xaadv1.XaadService_WatchTokens_FullMethodName {
		return h(srv, &watchStream{recvStream: rs, g: g, method: info.FullMethod})
	}
	return h(srv, rs)
}

func (g *guard) check(ctx context.Context, method string, req any) error {
	proc, _ := peercred.ProcessFromContext(ctx)
	pol := g.policy.Load()
	var err error
	switch r := req.(type) {
	case *xaadv1.GetTokenRequest:
		err = pol.decide(r.GetResource(), proc)
	case *xaadv1.SignProofRequest:
		err = pol.decide(r.GetResource(), proc)
	case *xaadv1.GetAssertionRequest:
		if r.GetAudience() != "" {
			err = pol.decideAudience()
		} else {
			err = pol.decide(r.GetResource(), proc)
		}
	case *xaadv1.WatchTokensRequest:
		if len(r.GetResources()) == 0 {
			err = pol.decideAudience() // every server: refuse while any has a policy
		}
		for _, res := range r.GetResources() {
			if err == nil {
				err = pol.decide(res, proc)
			}
		}
	default:
		// A token-bearing request this check cannot read: which server it
		// is for is unknown, so no rule can allow it.
		err = &errPeerNotAllowed{fmt.Sprintf("xaad cannot tell which MCP server a %T is for, so it refuses it", req)}
	}
	if err == nil {
		return nil
	}
	cred, _ := peercred.FromContext(ctx)
	attrs := []any{slog.String("method", method), slog.Int("pid", int(cred.PID)), slog.Any("uid", cred.UID), slog.String("reason", err.Error())}
	if proc != nil {
		attrs = append(attrs, slog.String("exe", proc.Exe))
	}
	g.log.Warn("refused caller", attrs...)
	return withReason(codes.PermissionDenied, ReasonPeerNotAllowed, "permission denied: "+err.Error())
}

// setPolicy makes p the policy of every check from now on.
func (g *guard) setPolicy(p *policy) { g.policy.Store(p) }

func (g *guard) record(ctx context.Context, method string, req, resp any, err error) {
	ev := auditlog.Event{Time: g.clock.Now().UTC(), Operation: method[strings.LastIndexByte(method, '/')+1:], Server: serverOf(req), Outcome: auditlog.OutcomeOK}
	if cred, ok := peercred.FromContext(ctx); ok {
		ev.Caller.PID, ev.Caller.UID = cred.PID, cred.UID
	}
	if proc, ok := peercred.ProcessFromContext(ctx); ok {
		ev.Caller.Exe, ev.Caller.SHA256 = proc.Exe, proc.SHA256
		if proc.Err != nil {
			ev.Caller.ExeError = proc.Err.Error()
		}
	}
	if err != nil {
		st := status.Convert(err)
		ev.Outcome, ev.Reason = auditlog.OutcomeError, st.Code().String()
		if st.Code() == codes.PermissionDenied || st.Code() == codes.Unauthenticated {
			ev.Outcome = auditlog.OutcomeDenied
		}
		if reason, _, ok := errinfo.FromStatus(st); ok {
			ev.Reason = reason
		}
	}
	switch r := resp.(type) {
	case *xaadv1.GetTokenResponse:
		if r.GetAccessToken() != "" {
			ev.TokenFP = broker.Fingerprint(r.GetAccessToken())
		}
		if r.GetDpopProof() != "" {
			ev.Target = proofTarget(req.(*xaadv1.GetTokenRequest).GetDpop())
		}
	case *xaadv1.GetAssertionResponse:
		if r.GetAssertion() != "" {
			ev.TokenFP = broker.Fingerprint(r.GetAssertion())
		}
	}
	if r, ok := req.(*xaadv1.SignProofRequest); ok {
		// A signing is recorded, granted or not, with the token it is for
		// and where it would be good: never the proof.
		ev.Target = proofTarget(r.GetRequest())
		if r.GetAccessToken() != "" {
			ev.TokenFP = broker.Fingerprint(r.GetAccessToken())
		}
	}
	g.audit.write(ev)
}

// proofTarget is the origin a DPoP proof is (or would be) good for; "" for
// a URL that is not one.
func proofTarget(d *xaadv1.DPoPRequest) string {
	o, err := dpop.Origin(d.GetUrl())
	if err != nil {
		return ""
	}
	return o
}

// serverOf names the MCP server a request is about, for the audit log.
func serverOf(req any) string {
	switch r := req.(type) {
	case *xaadv1.GetTokenRequest:
		return r.GetResource()
	case *xaadv1.SignProofRequest:
		return r.GetResource()
	case *xaadv1.GetAssertionRequest:
		return r.GetResource() + r.GetAudience()
	case *xaadv1.AddServerRequest:
		return r.GetUrl()
	case *xaadv1.RemoveServerRequest:
		return r.GetUrl()
	case *xaadv1.WatchTokensRequest:
		return strings.Join(r.GetResources(), " ")
	}
	return ""
}

// recvStream keeps the first request of a stream (for the audit log) and
// runs the policy on it before the handler sees it.
type recvStream struct {
	grpc.ServerStream
	first any
	check func(any) error
}

func (s *recvStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if s.first == nil {
		s.first = m
	}
	if s.check != nil {
		return s.check(m)
	}
	return nil
}

// watchStream checks every message of a WatchTokens stream against the
// policy in force now, not only the request at its start: a reload that
// takes a server away from this caller ends the stream with
// PEER_NOT_ALLOWED instead of letting it watch on.
type watchStream struct {
	*recvStream
	g      *guard
	method string
}

func (w *watchStream) SendMsg(m any) error {
	if r, ok := m.(*xaadv1.WatchTokensResponse); ok && r.GetServer().GetUrl() != "" {
		if err := w.g.check(w.Context(), w.method, &xaadv1.GetTokenRequest{Resource: r.GetServer().GetUrl()}); err != nil {
			return err
		}
	}
	return w.recvStream.SendMsg(m)
}
