package grant

import (
	"context"
	"net/http"
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
	raw, status, _, err := ep.postForm(ctx, name, form)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return decodeError(name, status, raw)
	}
	return nil
}
