package cli

import (
	"encoding/json"
	"io"

	"github.com/xaad-dev/xaad/client"
)

// renderHeadersJSON writes the `token --format headers-json` document: one
// JSON object of HTTP headers, {"Authorization":"Bearer <token>"}, and a
// newline. Header-helper hooks (Claude Code's headersHelper) parse all of
// standard output as that object, so nothing else may be written there;
// warnings go to standard error.
func renderHeadersJSON(w io.Writer, tok *client.Token) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // the value as the server will receive it
	return enc.Encode(map[string]string{"Authorization": tok.Type() + " " + tok.AccessToken})
}
