package daemon

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// checkShape refuses a request with a field over its bound, before the
// policy or the broker reads it. Other messages (reflection) are bounded
// by maxRequestBytes alone.
func checkShape(req any) error {
	switch r := req.(type) {
	case *xaadv1.GetTokenRequest:
		return firstErr(checkURLLen("resource", r.GetResource()), checkScopes("scopes", r.GetScopes()), checkDPoPRequest("dpop", r.GetDpop()),
			checkChallenge("challenge", r.GetChallenge()))
	case *xaadv1.SignProofRequest:
		return firstErr(checkURLLen("resource", r.GetResource()), checkLen("access_token", r.GetAccessToken(), maxAccessTokenBytes),
			checkDPoPRequest("request", r.GetRequest()))
	case *xaadv1.GetAssertionRequest:
		return firstErr(checkURLLen("resource", r.GetResource()), checkURLLen("audience", r.GetAudience()),
			checkURLLen("resource_hint", r.GetResourceHint()), checkScopes("scopes", r.GetScopes()))
	case *xaadv1.WatchTokensRequest:
		if n := len(r.GetResources()); n > maxWatchResources {
			return invalidArgument(fmt.Sprintf("resources lists %d URLs; one stream watches at most %d (or every server, with none listed) (docs/limits.md)", n, maxWatchResources))
		}
		for _, u := range r.GetResources() {
			if err := checkURLLen("resources", u); err != nil {
				return err
			}
		}
	case *xaadv1.AddServerRequest:
		return firstErr(checkURLLen("url", r.GetUrl()), checkScopes("scopes", r.GetScopes()))
	case *xaadv1.RemoveServerRequest:
		return checkURLLen("url", r.GetUrl())
	case *healthpb.HealthCheckRequest:
		// Of Check and Watch: a service is a server URL (or "", the
		// daemon), and Watch keeps it for as long as the stream lasts.
		return checkURLLen("service", r.GetService())
	case *xaadv1.LoginRequest:
		return firstErr(checkLen("id_token", r.GetIdToken(), maxIDTokenBytes),
			checkLen("refresh_token", r.GetRefreshToken(), maxRefreshTokenBytes),
			checkScopes("extra_scopes", r.GetExtraScopes()))
	}
	return nil
}

func checkURLLen(field, u string) error { return checkLen(field, u, maxURLBytes) }

func checkDPoPRequest(field string, d *xaadv1.DPoPRequest) error {
	return firstErr(checkLen(field+".method", d.GetMethod(), maxMethodBytes), checkURLLen(field+".url", d.GetUrl()),
		checkLen(field+".nonce", d.GetNonce(), maxNonceBytes))
}

func checkLen(field, v string, max int) error {
	if len(v) > max {
		return tooLong(field, len(v), max)
	}
	return nil
}

func checkScopes(field string, scopes []string) error {
	if len(scopes) > maxScopes {
		return invalidArgument(fmt.Sprintf("%s lists %d scopes; xaad accepts at most %d per request (docs/limits.md)", field, len(scopes), maxScopes))
	}
	for _, s := range scopes {
		if len(s) > maxScopeBytes {
			return tooLong("a scope in "+field, len(s), maxScopeBytes)
		}
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// shapeUnary and shapeStream run checkShape on every request.
func shapeUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := checkShape(req); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func shapeStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return h(srv, &recvStream{ServerStream: ss, check: checkShape})
}
