package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xaad-dev/xaad/client"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

const statusHelp = `Usage: xaactl status [--json]

Show the enterprise sign-in, then one line per MCP server: its state, when
its token expires, when the daemon will refresh it, and the last error.
Then one line per upstream token endpoint the daemon has called (the IdP's,
each authorization server's): the client-side rate limit in force, whether
requests are held back (until when, and why: the server's Retry-After, or
callers queued at the limit), how many callers and background refreshes
wait, and the 429 and 503 answers seen. Times are relative to now. No token
material is shown.

With --json, print the daemon's StatusResponse as JSON with proto field
names and every field present; the keys are stable for scripts.

Examples:
  xaactl status
  xaactl status --json | jq -r '.servers[] | select(.state != "SERVER_STATE_READY") | .url'
`

type statusOpts struct {
	json bool
}

func parseStatus(args []string) (statusOpts, error) {
	fs := newFlagSet("status")
	var o statusOpts
	fs.BoolVar(&o.json, "json", false, "print JSON instead of a table")
	pos, err := parse(fs, args, statusHelp)
	if err != nil {
		return o, err
	}
	return o, wantArgs(pos)
}

func runStatus(ctx context.Context, e *env, args []string) error {
	return withDaemon(ctx, e, args, parseStatus, func(c *client.Client, o statusOpts) error {
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		if o.json {
			return writeProtoJSON(e.stdout, st)
		}
		return renderStatus(e.stdout, st, time.Now())
	})
}

// renderStatus writes the status as text: identity, daemon, warnings, a
// table of servers, then one of upstream token endpoints.
func renderStatus(w io.Writer, st *xaadv1.StatusResponse, now time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Identity: %s\n", identityLine(st.GetIdentity(), now))
	if jkt := st.GetIdentity().GetDpopJkt(); jkt != "" {
		// The key stays in the daemon; its thumbprint is what tokens name.
		fmt.Fprintf(&b, "DPoP key: %s, thumbprint %s\n", st.GetIdentity().GetDpopAlgorithm(), jkt)
	}
	if st.GetVersion() != "" || st.GetStartedAt() != nil {
		fmt.Fprintf(&b, "Daemon:   %s, started %s\n", orDash(st.GetVersion()), relTime(st.GetStartedAt(), now))
	}
	for _, warn := range st.GetWarnings() {
		fmt.Fprintf(&b, "Warning:  %s\n", warn)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if len(st.GetServers()) == 0 {
		if _, err := io.WriteString(w, "\nNo servers. Add one with: xaactl server add URL\n"); err != nil {
			return err
		}
	} else {
		io.WriteString(w, "\n")
		if err := serverTable(w, st.GetServers(), now); err != nil {
			return err
		}
	}
	if len(st.GetUpstreams()) == 0 {
		return nil
	}
	io.WriteString(w, "\n")
	return upstreamTable(w, st.GetUpstreams(), now)
}

// identityLine summarises the sign-in in one line and says what to do when
// the user must act.
func identityLine(id *xaadv1.Identity, now time.Time) string {
	who := id.GetSubject()
	if id.GetIssuer() != "" {
		who += " at " + id.GetIssuer()
	}
	switch id.GetState() {
	case xaadv1.IdentityState_IDENTITY_STATE_SIGNED_IN, xaadv1.IdentityState_IDENTITY_STATE_REFRESHING:
		s := fmt.Sprintf("%s, %s, ID token expires %s", who,
			strings.ToLower(strings.ReplaceAll(enumName(id.GetState().String(), "IDENTITY_STATE_"), "_", " ")),
			relTime(id.GetIdTokenExpiresAt(), now))
		if !id.GetHasRefreshToken() {
			s += " (no refresh token: sign in again before then)"
		}
		return s + nextPrompt(id)
	case xaadv1.IdentityState_IDENTITY_STATE_NEEDS_LOGIN:
		s := who + ", needs login"
		if r := id.GetLoginHintReason(); r != "" {
			s += " (" + r + ")"
		}
		return s + `; run "xaactl login"`
	default:
		return `signed out; run "xaactl login"` + nextPrompt(id)
	}
}

// nextPrompt says what the next browser sign-in asks of the IdP besides
// the configured prompt, and why; "" when nothing.
func nextPrompt(id *xaadv1.Identity) string {
	if id.GetNextLoginPrompt() == "" {
		return ""
	}
	return fmt.Sprintf(". The next browser sign-in sends prompt=%s: %s", id.GetNextLoginPrompt(), id.GetNextLoginPromptReason())
}

// serverTable writes one aligned row per server.
func serverTable(w io.Writer, servers []*xaadv1.ServerStatus, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tSTATE\tEXPIRES\tNEXT REFRESH\tLAST ERROR")
	for _, s := range servers {
		state := serverState(s.GetState())
		if s.GetTokenType() == "DPoP" {
			state += " (DPoP)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n",
			s.GetUrl(), state,
			relTime(s.GetTokenExpiresAt(), now), nextRefresh(s, now),
			lastError(s))
	}
	return tw.Flush()
}

// nextRefresh is when the server's token is refreshed in the background.
// A ready server without one holds a token nobody asked for since it was
// obtained: the daemon leaves it to expire (README "Refresh and
// outages"), and says so rather than a bare dash.
func nextRefresh(s *xaadv1.ServerStatus, now time.Time) string {
	if s.GetNextRefreshAt() == nil && s.GetState() == xaadv1.ServerState_SERVER_STATE_READY && s.GetTokenExpiresAt() != nil {
		return "when used"
	}
	return relTime(s.GetNextRefreshAt(), now)
}

func lastError(s *xaadv1.ServerStatus) string {
	if s.GetLastError() == "" {
		return "-"
	}
	msg := oneLine(s.GetLastError(), 60)
	if r := s.GetLastErrorReason(); r != xaadv1.Reason_REASON_UNSPECIFIED {
		msg += " (" + enumName(r.String(), "REASON_") + ")"
	}
	return msg
}
