package daemon_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/internal/testenv"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// loginStream starts a Login and returns its events.
func loginStream(t *testing.T, ctx context.Context, c *client.Client, req *xaadv1.LoginRequest) xaadv1.XaadService_LoginClient {
	t.Helper()
	s, err := c.Raw().Login(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// nextEvent reads one event, failing the test on an error.
func nextEvent(t *testing.T, s xaadv1.XaadService_LoginClient) *xaadv1.LoginResponse {
	t.Helper()
	ev, err := s.Recv()
	if err != nil {
		t.Fatalf("login stream: %v", err)
	}
	return ev
}

// openURL waits for the OpenURL event of a browser login.
func openURL(t *testing.T, s xaadv1.XaadService_LoginClient) string {
	t.Helper()
	for {
		if u := nextEvent(t, s).GetOpenUrl(); u != nil {
			return u.GetUrl()
		}
	}
}

// done waits for the end of a login stream.
func done(t *testing.T, s xaadv1.XaadService_LoginClient) (*xaadv1.Identity, error) {
	t.Helper()
	for {
		ev, err := s.Recv()
		if err != nil {
			return nil, err
		}
		if d := ev.GetDone(); d != nil {
			return d.GetIdentity(), nil
		}
	}
}

// follow plays the browser with an HTTP client: to the IdP, then along its
// redirect to the daemon's loopback listener; it returns the final page.
func follow(t *testing.T, u string) (int, string) {
	t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second}
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestLoginBrowserEndToEnd(t *testing.T) {
	e := newEnv(t, "")
	e.start(t)
	c := e.dial(t)
	ctx := context.Background()
	s := loginStream(t, ctx, c, &xaadv1.LoginRequest{Mode: xaadv1.LoginMode_LOGIN_MODE_BROWSER})
	u := openURL(t, s)

	// A second login while this one waits is refused.
	s2 := loginStream(t, ctx, c, &xaadv1.LoginRequest{Mode: xaadv1.LoginMode_LOGIN_MODE_DEVICE})
	if _, err := done(t, s2); status.Code(err) != codes.Aborted || client.ReasonOf(c.FromStatus(err)) != xaadv1.Reason_REASON_LOGIN_IN_PROGRESS {
		t.Fatalf("second login: %v", err)
	}

	code, page := follow(t, u)
	if code != http.StatusOK || !strings.Contains(page, "Signed in") {
		t.Fatalf("page %d: %s", code, page)
	}
	id, err := done(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if id.GetSubject() != "alice" || !id.GetHasRefreshToken() || id.GetState() != xaadv1.IdentityState_IDENTITY_STATE_SIGNED_IN {
		t.Fatalf("identity %v", id)
	}
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL()}); err != nil {
		t.Fatal(err)
	}
}

// Cancelling the stream (Ctrl-C in xaactl) ends the login in the daemon:
// the next login may start at once.
func TestLoginCancelledByClient(t *testing.T) {
	e := newEnv(t, "")
	e.start(t)
	c := e.dial(t)
	ctx, cancel := context.WithCancel(context.Background())
	s := loginStream(t, ctx, c, &xaadv1.LoginRequest{Mode: xaadv1.LoginMode_LOGIN_MODE_BROWSER})
	first := openURL(t, s)
	cancel()
	// The daemon frees the slot once it has seen the cancel; a new login
	// is refused only until then, so retry on LOGIN_IN_PROGRESS.
	for {
		s2 := loginStream(t, context.Background(), c, &xaadv1.LoginRequest{Mode: xaadv1.LoginMode_LOGIN_MODE_BROWSER})
		ev, err := s2.Recv()
		if client.ReasonOf(c.FromStatus(err)) == xaadv1.Reason_REASON_LOGIN_IN_PROGRESS {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for ev.GetOpenUrl() == nil {
			ev = nextEvent(t, s2)
		}
		// The cancelled login's listener is gone.
		if _, err := http.Get(redirectOf(t, first)); err == nil {
			t.Error("the cancelled login's loopback listener still answers")
		}
		follow(t, ev.GetOpenUrl().GetUrl())
		if _, err := done(t, s2); err != nil {
			t.Fatal(err)
		}
		return
	}
}

func redirectOf(t *testing.T, authURL string) string {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("redirect_uri")
}

func TestLoginDeviceEndToEnd(t *testing.T) {
	e := newEnv(t, "")
	// One real second between polls: the daemon runs on the real clock.
	e.tb.IdP.SetSignInTweaks(testbed.SignInTweaks{DeviceInterval: time.Second})
	e.start(t)
	c := e.dial(t)
	s := loginStream(t, context.Background(), c, &xaadv1.LoginRequest{Mode: xaadv1.LoginMode_LOGIN_MODE_DEVICE})
	var dc *xaadv1.DeviceCode
	for dc == nil {
		dc = nextEvent(t, s).GetDeviceCode()
	}
	if dc.GetUserCode() == "" || dc.GetVerificationUri() == "" || dc.GetInterval().AsDuration() != time.Second {
		t.Errorf("device code %v", dc)
	}
	if _, err := done(t, s); err != nil {
		t.Fatal(err)
	}
}

// Rotation across a restart, through the renewal ladder: each restart
// refreshes with the refresh token the previous run stored, and the IdP
// never sees a rotated-out one.
func TestRefreshRotationAcrossRestart(t *testing.T) {
	e := newEnv(t, "")
	stop := e.start(t)
	c := e.dial(t)
	s := loginStream(t, context.Background(), c, &xaadv1.LoginRequest{Mode: xaadv1.LoginMode_LOGIN_MODE_BROWSER})
	follow(t, openURL(t, s))
	if _, err := done(t, s); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		// The IdP refuses the ID token once: the daemon refreshes it.
		e.tb.QueueFault(testbed.EndpointIdPToken, 1, testbed.Fault{Error: "invalid_grant"})
		if _, err := c.GetToken(context.Background(), client.TokenRequest{Resource: e.tb.MCP.URL(), ForceRefresh: true}); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		stop()
		stop = e.start(t)
		c = e.dial(t)
	}
	if got := e.tb.Counters().RefreshGrants; got != 3 {
		t.Errorf("refresh grants = %d, want 3", got)
	}
	if n := e.tb.IdP.SignInCounters().RefreshReuses; n != 0 {
		t.Errorf("the IdP saw %d reused refresh tokens", n)
	}
	if n := e.tb.IdP.LiveRefreshTokens(); n != 1 {
		t.Errorf("%d live refresh tokens, want 1", n)
	}
}

// NEEDS_LOGIN is visible in Status, GetToken fails with LOGIN_REQUIRED,
// and logout revokes at the IdP and leaves nothing behind.
func TestNeedsLoginAndLogout(t *testing.T) {
	e := newEnv(t, "")
	stop := e.start(t)
	c := e.dial(t)
	ctx := context.Background()
	s := loginStream(t, ctx, c, &xaadv1.LoginRequest{Mode: xaadv1.LoginMode_LOGIN_MODE_BROWSER})
	follow(t, openURL(t, s))
	if _, err := done(t, s); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL()}); err != nil {
		t.Fatal(err)
	}
	e.tb.IdP.RevokeRefreshTokens()
	e.tb.QueueFault(testbed.EndpointIdPToken, 1, testbed.Fault{Error: "invalid_grant"})
	_, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL(), Scopes: []string{"tools.read"}})
	if !client.IsLoginRequired(err) || !strings.Contains(err.Error(), "xaactl login") {
		t.Fatalf("GetToken: %v", err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if id := st.GetIdentity(); id.GetState() != xaadv1.IdentityState_IDENTITY_STATE_NEEDS_LOGIN || id.GetLoginHintReason() == "" {
		t.Fatalf("status identity %v", id)
	}
	// The cached token is still served.
	if _, err := c.GetToken(ctx, client.TokenRequest{Resource: e.tb.MCP.URL()}); err != nil {
		t.Fatalf("cached token: %v", err)
	}

	// A new login, then logout.
	s = loginStream(t, ctx, c, &xaadv1.LoginRequest{Mode: xaadv1.LoginMode_LOGIN_MODE_BROWSER})
	follow(t, openURL(t, s))
	if _, err := done(t, s); err != nil {
		t.Fatal(err)
	}
	revoked, err := c.Logout(ctx)
	if err != nil || !revoked {
		t.Fatalf("Logout = %v, %v", revoked, err)
	}
	if e.tb.IdP.SignInCounters().Revocations != 1 || e.tb.IdP.LiveRefreshTokens() != 0 {
		t.Error("the IdP did not see the revocation")
	}
	// After a restart nothing of the session is left.
	stop()
	e.start(t)
	c = e.dial(t)
	st, err = c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.GetIdentity().GetState() != xaadv1.IdentityState_IDENTITY_STATE_SIGNED_OUT {
		t.Errorf("after logout and restart: %v", st.GetIdentity())
	}
	for _, srv := range st.GetServers() {
		if srv.GetTokenExpiresAt() != nil {
			t.Errorf("server %s still has a token", srv.GetUrl())
		}
	}
}

// chromium finds Debian's chromium for the real-browser sign-in test.
func chromium(t *testing.T) string {
	t.Helper()
	return testenv.Tool(t, "chromium", "chromium")
}

// A real headless Chromium opens the sign-in URL, follows the IdP's
// redirect to the daemon's loopback listener, and shows the result page a
// person would see.
func TestLoginBrowserChromium(t *testing.T) {
	bin := chromium(t)
	e := newEnv(t, "")
	e.start(t)
	c := e.dial(t)
	s := loginStream(t, context.Background(), c, &xaadv1.LoginRequest{Mode: xaadv1.LoginMode_LOGIN_MODE_BROWSER})
	u := openURL(t, s)

	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile}
	out, err := exec.CommandContext(ctx, bin, append(args, "--dump-dom", u)...).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := string(out)
	if !strings.Contains(dom, `id="result" class="ok"`) || !strings.Contains(dom, "You can close this window") || !strings.Contains(dom, "alice") {
		t.Fatalf("chromium shows:\n%s", dom)
	}
	id, err := done(t, s)
	if err != nil || id.GetState() != xaadv1.IdentityState_IDENTITY_STATE_SIGNED_IN {
		t.Fatalf("login: %v %v", id, err)
	}
	if dir := os.Getenv("XAAD_SCREENSHOT_DIR"); dir != "" {
		// For a person checking the page: a screenshot of a second login.
		s := loginStream(t, context.Background(), c, &xaadv1.LoginRequest{Mode: xaadv1.LoginMode_LOGIN_MODE_BROWSER})
		u := openURL(t, s)
		shot := filepath.Join(dir, "signed-in.png")
		if err := exec.CommandContext(ctx, bin, append(args, "--screenshot="+shot, "--window-size=900,500", u)...).Run(); err != nil {
			t.Fatalf("chromium screenshot: %v", err)
		}
		if _, err := done(t, s); err != nil {
			t.Fatal(err)
		}
	}
}
