package cli

import (
	"context"
	"fmt"

	"github.com/xaad-dev/xaad/client"
)

const logoutHelp = `Usage: xaactl logout

Sign out: the daemon asks the identity provider to revoke its refresh
token (where the IdP supports RFC 7009 revocation), then forgets the
sign-in and every cached access token. MCP servers stay configured.

Example:
  xaactl logout
`

func runLogout(ctx context.Context, e *env, args []string) error {
	return withDaemon(ctx, e, args, noArgs("logout", logoutHelp), func(c *client.Client, _ struct{}) error {
		revoked, err := c.Logout(ctx)
		if err != nil {
			return err
		}
		msg := "Signed out; the identity provider revoked the refresh token."
		if !revoked {
			msg = "Signed out. The identity provider did not confirm revoking the refresh token (it may not support revocation); xaad has forgotten it."
		}
		_, err = fmt.Fprintln(e.stdout, msg)
		return err
	})
}
