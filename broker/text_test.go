package broker_test

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/broker/internal/httpx"
	"github.com/xaad-dev/xaad/internal/testbed"
)

// checkText fails unless s is valid UTF-8 without control characters and
// at most max bytes.
func checkText(t *testing.T, what, s string, max int) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s is not valid UTF-8: %.300q", what, s)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		t.Errorf("%s has control characters: %.300q", what, s)
	}
	if len(s) > max {
		t.Errorf("%s has %d bytes, want at most %d", what, len(s), max)
	}
}

// An error_description of 199 ASCII bytes and a euro sign used to be cut
// inside the euro sign; the server's last error, invalid UTF-8, then broke
// every Status reply (proto3 strings must be valid UTF-8).
func TestUpstreamErrorTextStaysValid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault testbed.Fault
	}{
		{"euro sign at the cut", testbed.Fault{Error: "invalid_client", Description: strings.Repeat("a", 199) + "€ and more"}},
		{"terminal escapes", testbed.Fault{Error: "invalid_client", Description: "bad\x1b[2J\r\nforged: ok\u202e"}},
		{"invalid bytes", testbed.Fault{Status: 400, Body: []byte("{\"error\":\"invalid_client\",\"error_description\":\"\xff\xfe\xc3\"}")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Listed: an unlisted server that failed is not registered.
			bd := newBed(t, bedOpts{listed: true})
			bd.tb.SetFault(testbed.EndpointASToken, tc.fault)
			_, err := bd.token(t, broker.TokenRequest{})
			wantReason(t, err, broker.ReasonASDenied)
			checkText(t, "the returned error", err.Error(), broker.MaxErrorText)
			info := bd.b.Servers()[0]
			checkText(t, "ServerInfo.LastError", info.LastError, broker.MaxErrorText)
			if !strings.Contains(info.LastError, "invalid_client") {
				t.Errorf("the error code was lost: %q", info.LastError)
			}
		})
	}
}

// Each server's last error is stored and shown in every Status reply, and
// upstream text (here a token endpoint URL from the AS metadata) can be as
// long as a metadata document: the text is bounded, with a marker.
func TestStoredErrorTextIsBounded(t *testing.T) {
	bd := newBed(t, bedOpts{listed: true})
	resp, err := bd.tb.HTTPClient().Get(bd.tb.AS.MetadataURL())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var md map[string]any
	if err := json.Unmarshal(raw, &md); err != nil {
		t.Fatal(err)
	}
	md["token_endpoint"] = bd.tb.AS.TokenEndpoint() + "?pad=" + strings.Repeat("x", 20000)
	body, _ := json.Marshal(md)
	bd.tb.SetFault(testbed.EndpointASMetadata, testbed.Fault{Body: body})
	bd.tb.SetFault(testbed.EndpointASToken, testbed.Fault{Error: "invalid_client", Description: "no"})

	_, err = bd.token(t, broker.TokenRequest{})
	wantReason(t, err, broker.ReasonASDenied)
	info := bd.b.Servers()[0]
	checkText(t, "ServerInfo.LastError", info.LastError, broker.MaxErrorText)
	if !strings.HasSuffix(info.LastError, httpx.ClipMarker) {
		t.Errorf("a cut error text has no marker: ...%q", info.LastError[max(0, len(info.LastError)-40):])
	}
	if !strings.HasPrefix(info.LastError, "the authorization server rejected") {
		t.Errorf("the explanation was cut instead of the upstream text: %.120q", info.LastError)
	}
}
