package daemon

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/broker"
)

// docs/limits.md states every limit with the value the code enforces.
func TestLimitsDocumented(t *testing.T) {
	raw, err := os.ReadFile("../docs/limits.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	kib := func(n int) string { return fmt.Sprintf("%d KiB", n>>10) }
	mib := func(n int) string { return fmt.Sprintf("%d MiB", n>>20) }
	rows := map[string]string{
		"request message":                             kib(maxRequestBytes),
		"request headers":                             kib(maxHeaderBytes),
		"URL length":                                  fmt.Sprintf("%d bytes", maxURLBytes),
		"health service name":                         fmt.Sprintf("%d bytes", maxURLBytes),
		"scopes per request":                          fmt.Sprint(maxScopes),
		"scope length":                                fmt.Sprintf("%d bytes", maxScopeBytes),
		"URLs per WatchTokens stream":                 fmt.Sprint(maxWatchResources),
		"imported ID token":                           kib(maxIDTokenBytes),
		"imported refresh token":                      kib(maxRefreshTokenBytes),
		"DPoP request method":                         fmt.Sprintf("%d bytes", maxMethodBytes),
		"DPoP nonce":                                  fmt.Sprintf("%d bytes", maxNonceBytes),
		"access token to sign for":                    kib(maxAccessTokenBytes),
		"reply message":                               mib(maxReplyBytes),
		"servers listed":                              fmt.Sprint(maxListedServers),
		"bytes of servers listed":                     mib(maxListedBytes),
		"connections per process":                     fmt.Sprint(maxConnsPerProcess),
		"connections of other users":                  fmt.Sprint(maxConnsOtherUIDs),
		"connections in total":                        fmt.Sprint(maxConns),
		"refused connections kept open":               fmt.Sprint(maxRefusedConns),
		"calls at once per connection":                fmt.Sprint(maxStreamsPerConn),
		"idle connection":                             fmt.Sprintf("%d minutes", int(connIdle.Minutes())),
		"handshake":                                   fmt.Sprintf("%d s", int(handshakeTimeout.Seconds())),
		"flow-control window":                         kib(windowBytes),
		"streams per process":                         fmt.Sprint(maxStreamsPerProcess),
		"streams in total":                            fmt.Sprint(maxStreams),
		"forced refresh coalescing":                   fmt.Sprintf("%d s", int(forceWindow.Seconds())),
		"forced refreshes per process":                fmt.Sprintf("%d, then 1 per %d s", forceBurst, int(forceEvery.Seconds())),
		"scope sets per process and server":           fmt.Sprint(maxScopeSetsPerServer),
		"callers tracked":                             fmt.Sprint(maxTrackedCallers),
		"forced refreshes tracked":                    fmt.Sprint(maxTrackedForces),
		"unlisted first token":                        fmt.Sprintf("%d s", int(broker.UnlistedTimeout.Seconds())),
		"unlisted first tokens at once":               fmt.Sprint(broker.UnlistedSlots),
		"unlisted servers pending":                    fmt.Sprint(broker.MaxUnlistedPending),
		"failed unlisted servers remembered":          fmt.Sprint(broker.MaxUnlistedFailed),
		"failed unlisted server answered from memory": fmt.Sprintf("%d s", int(broker.UnlistedFailedFor.Seconds())),
		"unlisted servers registered":                 fmt.Sprint(broker.MaxUnlistedServers),
	}
	for label, value := range rows {
		if want := "| " + label + " | " + value + " |"; !strings.Contains(doc, want) {
			t.Errorf("docs/limits.md lacks the row %q", want)
		}
	}
	for _, want := range []string{
		fmt.Sprintf("each for at most %d s", int(refusedLinger.Seconds())),
		fmt.Sprintf("a set unused for %d hour no longer counts", int(scopeSetIdle.Hours())),
		fmt.Sprintf("within %d s after a\nforced refresh fetched a token", int(forceWindow.Seconds())),
		fmt.Sprintf("request's deadline (at most %d s)", int(broker.UnlistedTimeout.Seconds())),
		fmt.Sprintf("for %d s every request for it", int(broker.UnlistedFailedFor.Seconds())),
		fmt.Sprintf("When\n%d servers not in the configuration", broker.MaxUnlistedServers),
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/limits.md lacks %q", want)
		}
	}
}
