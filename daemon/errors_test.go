package daemon

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/errinfo"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// Every reason the daemon sends decodes, with the decoder package client
// uses, to a Reason of the API: a name the client cannot parse would reach
// programs as REASON_UNSPECIFIED.
func TestToStatusCoversEveryReason(t *testing.T) {
	for reason, code := range codeOf {
		st := status.Convert(toStatus(&broker.Error{Reason: reason, Msg: "m"}))
		if st.Code() != code {
			t.Errorf("%s: code %v, want %v", reason, st.Code(), code)
		}
		got, _, ok := errinfo.FromStatus(st)
		if !ok || got != string(reason) {
			t.Errorf("%s: ErrorInfo reason %q (found %v)", reason, got, ok)
		}
		if errinfo.ParseReason(got) == xaadv1.Reason_REASON_UNSPECIFIED {
			t.Errorf("%s is not a Reason in the proto", reason)
		}
	}
	if errinfo.ParseReason(ReasonPeerNotAllowed) != xaadv1.Reason_REASON_PEER_NOT_ALLOWED {
		t.Errorf("ReasonPeerNotAllowed %q is not REASON_PEER_NOT_ALLOWED", ReasonPeerNotAllowed)
	}
	if st := status.Convert(toStatus(errors.New("boom"))); st.Code() != codes.Internal {
		t.Errorf("unclassified error: %v", st.Code())
	}
}
