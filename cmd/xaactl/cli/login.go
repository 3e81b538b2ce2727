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

const loginHelp = `Usage: xaactl login --id-token-file FILE [--refresh-token-file FILE]

Import an enterprise sign-in obtained by another tool: an OIDC ID token and,
optionally, an IdP refresh token so the daemon can renew it. A FILE of "-"
reads standard input (for one of the two only). The tokens are sent to the
daemon over its socket and never printed.

Examples:
  xaactl login --id-token-file ~/id_token.jwt
  my-sso-tool print-id-token | xaactl login --id-token-file -
`

// maxTokenFile caps how much of a token file is read; JWTs are a few KiB.
const maxTokenFile = 1 << 20

type loginOpts struct {
	idTokenFile      string
	refreshTokenFile string
}

func parseLogin(args []string) (loginOpts, error) {
	fs := newFlagSet("login")
	var o loginOpts
	fs.StringVar(&o.idTokenFile, "id-token-file", "", "read the ID token from `FILE` (- for stdin)")
	fs.StringVar(&o.refreshTokenFile, "refresh-token-file", "", "read an IdP refresh token from `FILE` (- for stdin)")
	pos, err := parse(fs, args, loginHelp)
	if err != nil {
		return o, err
	}
	if err := wantArgs(pos); err != nil {
		return o, err
	}
	if o.idTokenFile == "" {
		return o, usagef("--id-token-file is required")
	}
	if o.idTokenFile == "-" && o.refreshTokenFile == "-" {
		return o, usagef("only one of --id-token-file and --refresh-token-file can read stdin")
	}
	return o, nil
}

func runLogin(ctx context.Context, e *env, args []string) error {
	o, err := parseLogin(args)
	if err != nil {
		return err
	}
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

// loginDone is the line printed after a successful import.
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
	return s
}
