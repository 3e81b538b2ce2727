package daemon

import (
	"github.com/xaad-dev/xaad/broker"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

var upstreamKinds = map[broker.UpstreamKind]xaadv1.UpstreamKind{
	broker.UpstreamIdP:        xaadv1.UpstreamKind_UPSTREAM_KIND_IDP,
	broker.UpstreamAuthServer: xaadv1.UpstreamKind_UPSTREAM_KIND_AUTHORIZATION_SERVER,
}

// upstreamProto is one token endpoint's rate limit for Status.
func upstreamProto(u broker.UpstreamInfo) *xaadv1.UpstreamStatus {
	st := u.Stats
	p := &xaadv1.UpstreamStatus{
		Kind: upstreamKinds[u.Kind], TokenEndpoint: u.URL, Issuer: u.Issuer, Setting: u.Setting,
		RateLimit: u.Limit.Rate, RateBurst: uint32(u.Limit.Burst),
		HeldUntil:     optTime(u.HeldUntil),
		QueuedCallers: uint32(u.Callers), QueuedBackground: uint32(u.Background),
		Counters: &xaadv1.UpstreamCounters{
			Sent: st.Passed, SentBackground: st.Background, Waited: st.Waited, Refused: st.Rejected, Cancelled: st.Cancelled,
			TooManyRequests: st.TooMany, Unavailable: st.Unavailable, Holds: st.Holds, Clipped: st.Clipped,
		},
	}
	if !u.HeldUntil.IsZero() {
		p.HoldReason = u.Hold.String()
	}
	if u.NextCaller.After(u.At) {
		p.NextCallerAt = optTime(u.NextCaller)
	}
	return p
}
