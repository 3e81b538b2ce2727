package errinfo

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// Every reason of the API survives the trip through a status unchanged.
func TestRoundTrip(t *testing.T) {
	for v := range xaadv1.Reason_name {
		r := xaadv1.Reason(v)
		if r == xaadv1.Reason_REASON_UNSPECIFIED {
			continue
		}
		st := Status(codes.PermissionDenied, ReasonName(r), "msg")
		// Through the wire form, as a client receives it.
		back := status.FromProto(st.Proto())
		name, _, ok := FromStatus(back)
		if !ok || ParseReason(name) != r {
			t.Errorf("%v: decoded %q (ok=%v) as %v", r, name, ok, ParseReason(name))
		}
	}
	if ParseReason("NO_SUCH_REASON") != xaadv1.Reason_REASON_UNSPECIFIED || ParseReason("") != xaadv1.Reason_REASON_UNSPECIFIED {
		t.Error("an unknown or empty name parsed as a known reason")
	}
	if ParseReason("REASON_LOGIN_REQUIRED") != xaadv1.Reason_REASON_LOGIN_REQUIRED {
		t.Error("a prefixed name was not accepted")
	}
}

// An ErrorInfo of another domain is not ours.
func TestOtherDomainIgnored(t *testing.T) {
	if _, _, ok := FromStatus(status.New(codes.Internal, "x")); ok {
		t.Fatal("a status without ErrorInfo decoded")
	}
	other, err := status.New(codes.Internal, "x").WithDetails(&errdetails.ErrorInfo{Reason: "LOGIN_REQUIRED", Domain: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if r, _, ok := FromStatus(other); ok {
		t.Fatalf("an ErrorInfo of another domain decoded as %q", r)
	}
}
