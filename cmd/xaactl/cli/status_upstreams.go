package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// upstreamTable writes one row per upstream token endpoint the daemon has
// called: the client-side limit in force, whether requests are held back
// (until when, and the server's reason), who waits, and the 429 and 503
// answers seen.
func upstreamTable(w io.Writer, ups []*xaadv1.UpstreamStatus, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TOKEN ENDPOINT\tLIMIT\tHELD BACK\tWAITING\t429s\t503s")
	for _, u := range ups {
		c := u.GetCounters()
		fmt.Fprintf(tw, "%s\t%g/s, burst %d\t%s\t%s\t%d\t%d\n", endpointName(u), u.GetRateLimit(), u.GetRateBurst(),
			heldBack(u, now), waiting(u), c.GetTooManyRequests(), c.GetUnavailable())
	}
	return tw.Flush()
}

func endpointName(u *xaadv1.UpstreamStatus) string {
	kind := "AS"
	if u.GetKind() == xaadv1.UpstreamKind_UPSTREAM_KIND_IDP {
		kind = "IdP"
	}
	return kind + " " + orDash(u.GetTokenEndpoint())
}

// heldBack says why a caller arriving now would wait: the server's pause,
// or the callers queued ahead of it at the rate limit.
func heldBack(u *xaadv1.UpstreamStatus, now time.Time) string {
	if held := u.GetHeldUntil(); held != nil {
		return fmt.Sprintf("paused for %s: %s", left(held.AsTime(), now), oneLine(u.GetHoldReason(), 80))
	}
	if next := u.GetNextCallerAt(); next != nil {
		return "rate limit: next caller in " + left(next.AsTime(), now)
	}
	return "-"
}

// left is the time from now until t, for waits that are often under a
// second.
func left(t, now time.Time) string {
	if d := t.Sub(now); d >= time.Second {
		return shortDuration(d)
	}
	return "under 1s"
}

func waiting(u *xaadv1.UpstreamStatus) string {
	if u.GetQueuedCallers() == 0 && u.GetQueuedBackground() == 0 {
		return "-"
	}
	return fmt.Sprintf("%d callers, %d background", u.GetQueuedCallers(), u.GetQueuedBackground())
}
