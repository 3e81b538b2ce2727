package cli

import (
	"errors"
	"fmt"

	"github.com/xaad-dev/xaad/client"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// Exit codes. Scripts (for example an MCP client's header helper running
// `xaactl token`) branch on these, so they never change meaning.
const (
	ExitOK                  = 0 // success
	ExitError               = 1 // any other failure
	ExitUsage               = 2 // bad command line
	ExitLoginRequired       = 3 // the enterprise sign-in is needed: run `xaactl login`
	ExitNotAllowed          = 4 // a policy refuses: xaad's (SERVER_NOT_ALLOWED, PEER_NOT_ALLOWED), the IdP's or the authorization server's (IDP_DENIED, AS_DENIED)
	ExitUpstreamUnavailable = 5 // the IdP or authorization server is unreachable and no valid token is cached
	ExitDaemonUnreachable   = 6 // the xaad daemon is not running or not reachable
	ExitDPoPBound           = 7 // the token is DPoP-bound: a printed token is useless, use `xaactl proxy`
	ExitLimitExceeded       = 8 // a caller reached one of xaad's limits (LIMIT_EXCEEDED, docs/limits.md): retry later, or ask for less
)

const exitCodesHelp = `Exit codes:
  0  success
  1  error
  2  usage error
  3  sign-in required (run: xaactl login)
  4  not allowed by xaad's, the IdP's or the authorization server's policy
  5  identity provider or authorization server unavailable
  6  xaad daemon not reachable
  7  the server's tokens are DPoP-bound (use: xaactl proxy URL)
  8  a limit of xaad was reached (the message names it; retry later)
`

// usageError is a mistake on the command line (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(msg string) error { return &usageError{msg: msg} }

// dpopBoundError: the server's tokens are DPoP-bound (RFC 9449), so each
// request needs its own proof signed by the daemon; a token printed for a
// header helper cannot carry one (exit code 7).
type dpopBoundError struct{ url string }

func (e *dpopBoundError) Error() string {
	return fmt.Sprintf("the tokens of %s are DPoP-bound (sender-constrained): every request needs a new proof signed by xaad, which a printed token or a header helper cannot carry; connect through the stdio bridge instead: xaactl proxy %s", e.url, e.url)
}

// exitCode maps an error from a command to the process exit code.
func exitCode(err error) int {
	var ue *usageError
	var de *dpopBoundError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage
	case errors.As(err, &de):
		return ExitDPoPBound
	case client.IsLoginRequired(err):
		return ExitLoginRequired
	case client.IsServerNotAllowed(err), client.IsPeerNotAllowed(err), refused(err):
		return ExitNotAllowed
	case client.IsUpstreamUnavailable(err):
		return ExitUpstreamUnavailable
	case client.IsUnreachable(err):
		return ExitDaemonUnreachable
	case client.ReasonOf(err) == xaadv1.Reason_REASON_LIMIT_EXCEEDED:
		return ExitLimitExceeded
	default:
		return ExitError
	}
}

// refused reports a refusal by the IdP or the authorization server: a
// policy decision (invalid_target, access_denied, unauthorized_client, or
// credentials it does not accept), which retrying does not change.
func refused(err error) bool {
	r := client.ReasonOf(err)
	return r == xaadv1.Reason_REASON_IDP_DENIED || r == xaadv1.Reason_REASON_AS_DENIED
}
