package grant

import (
	"context"
	"net/url"
)

// Revoke asks the server to revoke token at ep, whose URL is the
// revocation_endpoint (RFC 7009 §2.1). hint is the token_type_hint, for
// example "refresh_token". RFC 7009 §2.2: HTTP 200 means revoked, or the
// token was already invalid; either way the client forgets it.
func Revoke(ctx context.Context, ep *Endpoint, token, hint string) error {
	name := "revocation at " + ep.URL
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	// RFC 7009 §2.2: the status says it all; a 200's body is ignored.
	_, _, err := ep.postForm(ctx, name, form, "")
	return err
}
