package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/internal/testbed"
)

// browserLogin runs `xaactl login` with a browser that follows the URL,
// and returns its stdout and the prompt the IdP was sent.
func browserLogin(t *testing.T, tb *testbed.Testbed, sock string) (out, prompt string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	pages := make(chan string, 1)
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, socket: sock, openURL: browse(pages)}
	if err := dispatch(context.Background(), e, []string{"--socket", sock, "login"}); err != nil {
		t.Fatalf("login: %v\n%s", err, stderr.String())
	}
	<-pages
	return stdout.String(), tb.IdP.LastAuthorizeParams()["prompt"]
}

func statusText(t *testing.T, sock string) string {
	t.Helper()
	var stdout bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &bytes.Buffer{}, socket: sock}
	if err := dispatch(context.Background(), e, []string{"--socket", sock, "status"}); err != nil {
		t.Fatal(err)
	}
	return stdout.String()
}

// An IdP that follows OIDC Core §11 to the letter drops offline_access
// without prompt=consent, so the first browser sign-in gets no refresh
// token. The IdP lists consent in prompt_values_supported, so xaad says
// why and what it does, and the next sign-in sends prompt=consent and gets
// one; from then on every browser sign-in asks for consent, and status
// says why.
func TestLoginLearnsToAskForConsent(t *testing.T) {
	tb, sock := realDaemon(t)
	tb.IdP.SetSignInTweaks(testbed.SignInTweaks{OfflineAccessNeedsConsent: true})
	out, prompt := browserLogin(t, tb, sock)
	if prompt != "" {
		t.Errorf("first sign-in sent prompt=%q, want none", prompt)
	}
	for _, s := range []string{out, statusText(t, sock)} {
		if !strings.Contains(s, "no refresh token") || !strings.Contains(s, "next browser sign-in sends prompt=consent") || !strings.Contains(s, "OIDC Core §11") {
			t.Errorf("after the sign-in without a refresh token:\n%s\nwant why and that the next one sends prompt=consent", s)
		}
	}
	out, prompt = browserLogin(t, tb, sock)
	if prompt != "consent" {
		t.Errorf("second sign-in sent prompt=%q, want consent", prompt)
	}
	st := statusText(t, sock)
	if strings.Contains(out, "no refresh token") || strings.Contains(st, "no refresh token") || !strings.Contains(st, "gives a refresh token only when asked with prompt=consent") {
		t.Errorf("after the sign-in with consent:\n%s\n%s\nwant a refresh token, and why consent stays", out, st)
	}
	if out, prompt = browserLogin(t, tb, sock); prompt != "consent" || strings.Contains(out, "no refresh token") {
		t.Errorf("third sign-in sent prompt=%q (%s), want consent again and a refresh token", prompt, out)
	}
}

// [idp] prompt goes on every browser sign-in, so such an IdP gives a
// refresh token at the first.
func TestLoginConfiguredPrompt(t *testing.T) {
	tb, sock := realDaemonWith(t, `prompt = "consent"`)
	tb.IdP.SetSignInTweaks(testbed.SignInTweaks{OfflineAccessNeedsConsent: true})
	out, prompt := browserLogin(t, tb, sock)
	if prompt != "consent" || strings.Contains(out, "no refresh token") {
		t.Errorf("prompt %q, output %q; want consent sent and a refresh token", prompt, out)
	}
}
