// Package errinfo is the error contract between the daemon and its
// clients: every error the daemon returns is a gRPC status carrying one
// google.rpc.ErrorInfo whose domain is [Domain] and whose reason is the
// name of an xaad.v1.Reason without its "REASON_" prefix
// ("LOGIN_REQUIRED"). The daemon encodes with [Status]; package client
// decodes with [FromStatus]. It is a leaf both may import.
package errinfo

import (
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// Domain is the ErrorInfo domain of every xaad error.
const Domain = "xaad.dev"

// prefix starts every xaadv1.Reason name and is left off on the wire.
const prefix = "REASON_"

// ReasonName is the wire name of r ("LOGIN_REQUIRED").
func ReasonName(r xaadv1.Reason) string {
	return strings.TrimPrefix(r.String(), prefix)
}

// ParseReason is the xaadv1.Reason named by a wire reason (with or
// without the prefix), or REASON_UNSPECIFIED for a name this build does not
// know.
func ParseReason(name string) xaadv1.Reason {
	if name == "" {
		return xaadv1.Reason_REASON_UNSPECIFIED
	}
	return xaadv1.Reason(xaadv1.Reason_value[prefix+strings.TrimPrefix(name, prefix)])
}

// Status is a status of code and msg carrying reason (a wire name) in an
// ErrorInfo of [Domain].
func Status(code codes.Code, reason, msg string) *status.Status {
	st := status.New(code, msg)
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: Domain}); err == nil {
		st = d
	}
	return st
}

// FromStatus returns the reason (without the prefix) and metadata of the
// first ErrorInfo of [Domain] in st; ok is false when st has none.
func FromStatus(st *status.Status) (reason string, metadata map[string]string, ok bool) {
	for _, d := range st.Details() {
		if info, isInfo := d.(*errdetails.ErrorInfo); isInfo && info.GetDomain() == Domain {
			return strings.TrimPrefix(info.GetReason(), prefix), info.GetMetadata(), true
		}
	}
	return "", nil, false
}
