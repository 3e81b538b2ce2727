package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

const loginHelp = `Usage: xaactl login [--device] [--no-browser] [--timeout D] [--scope S ...]
       xaactl login --id-token-file FILE [--refresh-token-file FILE]

Sign in to your organization's identity provider. The daemon runs the
sign-in itself and keeps the result; no token is printed.

By default xaactl opens your browser at the IdP's sign-in page (xdg-open);
after you sign in, the browser lands on a page served by the daemon that
says whether it worked, and you can close it. With --no-browser the URL is
printed for you to open yourself. On a machine without a browser (SSH,
containers), --device prints a short code and a URL to open on any other
device. Ctrl-C cancels the sign-in.

--id-token-file imports a sign-in obtained by another tool instead: an
OIDC ID token and, optionally, an IdP refresh token so the daemon can renew
it. A FILE of "-" reads standard input (for one of the two only).

Examples:
  xaactl login
  xaactl login --device
  xaactl login --no-browser --timeout 10m
  my-sso-tool print-id-token | xaactl login --id-token-file -
`

// maxTokenFile caps how much of a token file is read; JWTs are a few KiB.
const maxTokenFile = 1 << 20

type loginOpts struct {
	idTokenFile      string
	refreshTokenFile string
	device           bool
	noBrowser        bool
	timeout          time.Duration
	scopes           []string
}

func parseLogin(args []string) (loginOpts, error) {
	fs := newFlagSet("login")
	o := loginOpts{timeout: 5 * time.Minute}
	var scopes stringList
	fs.StringVar(&o.idTokenFile, "id-token-file", "", "import the ID token in `FILE` (- for stdin)")
	fs.StringVar(&o.refreshTokenFile, "refresh-token-file", "", "with --id-token-file: an IdP refresh token in `FILE` (- for stdin)")
	fs.BoolVar(&o.device, "device", false, "sign in with a code entered on another device (RFC 8628)")
	fs.BoolVar(&o.noBrowser, "no-browser", false, "print the sign-in URL instead of opening a browser")
	fs.DurationVar(&o.timeout, "timeout", o.timeout, "give up when the sign-in has not finished after `D`")
	fs.Var(&scopes, "scope", "an extra IdP `scope` to request (repeatable)")
	pos, err := parse(fs, args, loginHelp)
	if err != nil {
		return o, err
	}
	if err := wantArgs(pos); err != nil {
		return o, err
	}
	o.scopes = scopes
	switch {
	case o.timeout <= 0:
		return o, usagef("--timeout must be positive")
	case o.idTokenFile != "" && (o.device || o.noBrowser || len(o.scopes) > 0):
		return o, usagef("--id-token-file imports a sign-in; it does not go with --device, --no-browser or --scope")
	case o.refreshTokenFile != "" && o.idTokenFile == "":
		return o, usagef("--refresh-token-file needs --id-token-file")
	case o.device && o.noBrowser:
		return o, usagef("--device never opens a browser; --no-browser is for the browser sign-in")
	case o.idTokenFile == "-" && o.refreshTokenFile == "-":
		return o, usagef("only one of --id-token-file and --refresh-token-file can read stdin")
	}
	return o, nil
}

func runLogin(ctx context.Context, e *env, args []string) error {
	o, err := parseLogin(args)
	if err != nil {
		return err
	}
	if o.idTokenFile != "" {
		return runImport(ctx, e, o)
	}
	return runInteractive(ctx, e, o)
}

func runImport(ctx context.Context, e *env, o loginOpts) error {
	idToken, err := readSecret(o.idTokenFile, "ID token", e.stdin)
	if err != nil {
		return err
	}
	var refreshToken string
	if o.refreshTokenFile != "" {
		if refreshToken, err = readSecret(o.refreshTokenFile, "refresh token", e.stdin); err != nil {
			return err
		}
	}
	c, err := e.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	id, err := c.LoginImport(ctx, idToken, refreshToken)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, loginDone(id, time.Now()))
	return err
}

// readSecret reads a token from path ("-" = stdin) and trims the whitespace
// editors and `echo` add. Errors name the file, never the content.
func readSecret(path, what string, stdin io.Reader) (string, error) {
	r := stdin
	name := "standard input"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", what, err)
		}
		defer f.Close()
		r, name = f, path
	}
	b, err := io.ReadAll(io.LimitReader(r, maxTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("read %s from %s: %w", what, name, err)
	}
	if len(b) > maxTokenFile {
		return "", fmt.Errorf("read %s from %s: larger than %d bytes", what, name, maxTokenFile)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", errors.New(what + " in " + name + " is empty")
	}
	return s, nil
}

// loginDone is the line printed after a successful sign-in.
func loginDone(id *xaadv1.Identity, now time.Time) string {
	s := "Signed in as " + orDash(id.GetSubject())
	if id.GetIssuer() != "" {
		s += " at " + id.GetIssuer()
	}
	if exp := id.GetIdTokenExpiresAt(); exp != nil {
		s += "; ID token expires " + relTime(exp, now)
	}
	if !id.GetHasRefreshToken() {
		s += " (no refresh token: sign in again before then)"
	}
	return s + nextPrompt(id)
}
