package daemon

import (
	"errors"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/broker"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

func TestToStatusCoversEveryReason(t *testing.T) {
	for reason, code := range codeOf {
		err := toStatus(&broker.Error{Reason: reason, Msg: "m"})
		st := status.Convert(err)
		if st.Code() != code {
			t.Errorf("%s: code %v, want %v", reason, st.Code(), code)
		}
		var got string
		for _, d := range st.Details() {
			if ei, ok := d.(*errdetails.ErrorInfo); ok {
				got = ei.Reason
			}
		}
		if got != string(reason) {
			t.Errorf("%s: ErrorInfo reason %q", reason, got)
		}
		if _, ok := xaadv1.Reason_value["REASON_"+string(reason)]; !ok {
			t.Errorf("%s is not a Reason in the proto", reason)
		}
	}
	if st := status.Convert(toStatus(errors.New("boom"))); st.Code() != codes.Internal {
		t.Errorf("unclassified error: %v", st.Code())
	}
}
