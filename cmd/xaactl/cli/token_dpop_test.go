package cli

import (
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/internal/testdaemon"
)

// `xaactl token` for a server whose tokens are DPoP-bound prints nothing
// on stdout, in no format, says why on stderr and points to the proxy,
// and exits with its own code; a bearer server's token still prints.
func TestTokenDPoPBound(t *testing.T) {
	env, err := testdaemon.Start(testdaemon.Options{Testbed: testbed.Options{DPoP: testbed.DPoPOptions{Enabled: true}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	url := env.TB.MCP.URL()
	for _, format := range []string{"raw", "json", "header", "headers-json"} {
		r := run(t, env.Socket, "", "token", url, "--format", format)
		if r.code != ExitDPoPBound || r.stdout != "" || !strings.Contains(r.stderr, "xaactl proxy "+url) || !strings.Contains(r.stderr, "DPoP-bound") {
			t.Errorf("--format %s: code %d, stdout %q, stderr %q; want exit %d, nothing printed, the proxy named", format, r.code, r.stdout, r.stderr, ExitDPoPBound)
		}
	}

	bearer, err := testdaemon.Start(testdaemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bearer.Close() })
	if r := run(t, bearer.Socket, "", "token", bearer.TB.MCP.URL()); r.code != ExitOK || r.stdout == "" {
		t.Errorf("bearer server: code %d, stdout %q", r.code, r.stdout)
	}
}

// `xaactl probe` opens a session through client.Transport, so it works for
// a DPoP-bound server, with nonces.
func TestProbeDPoP(t *testing.T) {
	env, err := testdaemon.Start(testdaemon.Options{DPoP: "required", Testbed: testbed.Options{DPoP: testbed.DPoPOptions{
		Enabled: true, RequireProof: true, RequireNonce: []testbed.Endpoint{testbed.EndpointMCP},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	r := run(t, env.Socket, "", "probe", env.TB.MCP.URL())
	if r.code != ExitOK || !strings.Contains(r.stderr, "token: DPoP") || !strings.Contains(r.stdout, "echo") {
		t.Fatalf("probe: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if c := env.TB.DPoPCounters()[testbed.EndpointMCP]; c.Rejected != 0 || c.Accepted == 0 {
		t.Errorf("MCP verifier: %+v", c)
	}
}
