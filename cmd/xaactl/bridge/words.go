package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xaad-dev/xaad/client"
)

// The bridge's own errors are what a desktop MCP client shows its user, so
// each says what went wrong and which command fixes it, in xaactl's words.
// They carry code -32603 and data {"source":"xaactl proxy"} plus, for
// daemon refusals, the daemon's reason (for example "LOGIN_REQUIRED").

var errTooLarge = errors.New("message over the size limit")

func itoa(n int) string { return strconv.Itoa(n) }

// proxyError builds an error of the bridge's; reason may be empty.
func proxyError(message string, data map[string]string) *rpcError {
	d := map[string]string{"source": "xaactl proxy"}
	for k, v := range data {
		d[k] = v
	}
	raw, _ := json.Marshal(d)
	return &rpcError{Code: codeInternal, Message: "xaactl proxy: " + message, Data: raw}
}

// transportError explains a request that got no HTTP answer: no token
// (the daemon's reason and fix), a refused redirect, or a network failure.
func (b *bridge) transportError(ctx context.Context, err error) *rpcError {
	var (
		unreachable *client.UnreachableError
		daemon      *client.Error
	)
	switch {
	case ctx.Err() != nil:
		return proxyError("the request was cancelled", nil)
	case errors.As(err, &unreachable):
		return proxyError("cannot get an access token for "+redact(b.cfg.Endpoint)+": "+unreachable.Error(),
			map[string]string{"reason": "DAEMON_UNREACHABLE"})
	case errors.As(err, &daemon):
		return proxyError("no access token for "+redact(b.cfg.Endpoint)+": "+daemonWords(daemon),
			map[string]string{"reason": daemon.Reason})
	case errors.Is(err, ErrRedirectRefused):
		return proxyError(urlCause(err), nil)
	}
	return proxyError("the MCP server at "+redact(b.cfg.Endpoint)+" could not be reached: "+urlCause(err), nil)
}

// daemonWords is the daemon's message, with the fix named when the daemon's
// own text does not name a command.
func daemonWords(e *client.Error) string {
	msg := e.Message
	if strings.Contains(msg, "xaactl ") {
		return msg
	}
	switch {
	case client.IsLoginRequired(e):
		return msg + "; run `xaactl login`"
	case client.IsServerNotAllowed(e), client.IsPeerNotAllowed(e):
		return msg + "; the xaad policy does not allow this; `xaactl status` shows the configuration, your administrator can change it"
	case client.IsUpstreamUnavailable(e):
		return msg + "; xaad retries on its own, `xaactl status` shows the state"
	}
	return msg + "; `xaactl status` shows the server's state"
}

// urlCause strips net/http's "Post URL:" wrapping: the URL may hold a
// secret in its query, and the endpoint is named separately.
func urlCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// readError explains a body that could not be read.
func (b *bridge) readError(ctx context.Context, err error) *rpcError {
	switch {
	case ctx.Err() != nil:
		return proxyError("the request was cancelled", nil)
	case errors.Is(err, errTooLarge):
		return proxyError(fmt.Sprintf("the MCP server's answer is larger than %d bytes, the proxy's limit; it was dropped (xaactl proxy --max-message raises the limit)", b.max), nil)
	}
	return proxyError("reading the MCP server's answer failed: "+err.Error(), nil)
}

// streamError explains a response stream that ended without the answer.
func (b *bridge) streamError(ctx context.Context, err error) *rpcError {
	switch {
	case ctx.Err() != nil:
		return proxyError("the request was cancelled", nil)
	case errors.Is(err, errEventTooLarge):
		return proxyError(fmt.Sprintf("the MCP server sent an event larger than %d bytes, the proxy's limit; the answer was dropped (xaactl proxy --max-message raises the limit)", b.max), nil)
	}
	return proxyError("the MCP server ended the response stream without answering ("+err.Error()+")", nil)
}

// statusAnswer turns a non-2xx answer into the request's answer: the
// server's JSON-RPC error when the body is one, else words for the status.
// Either way only this request fails. A 404 for a request in a session
// means the server ended the session (Streamable HTTP 2025-11-25,
// "Session Management").
func (b *bridge) statusAnswer(resp *http.Response, sessionID string) answer {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if r, perr, _ := parseMsg(body); perr == nil && r.isResponse() && r.err != nil {
		return answer{resp: r, lost: resp.StatusCode == http.StatusNotFound && sessionID != ""}
	}
	if resp.StatusCode == http.StatusNotFound && sessionID != "" {
		return answer{lost: true, err: proxyError("the MCP server ended the session (HTTP 404) and would not start a new one; reconnect the server in your MCP client", nil)}
	}
	return answer{err: proxyError(statusWords(resp, b.cfg.Endpoint, body), map[string]string{"http_status": itoa(resp.StatusCode)})}
}

func statusWords(resp *http.Response, endpoint string, body []byte) string {
	at := redact(endpoint)
	text := snippet(body)
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized:
		return "the MCP server at " + at + " refused the access token from xaad even after a fresh one (HTTP 401" + challengeText(resp) + "); `xaactl status` shows the server's state"
	case code == http.StatusForbidden:
		return "the MCP server at " + at + " refused the request (HTTP 403" + challengeText(resp) + text + "); your account may lack access: ask the server's administrator"
	case code == http.StatusNotFound:
		return "the MCP server has no endpoint at " + at + " (HTTP 404" + text + "); check the URL given to xaactl proxy"
	case code == http.StatusMethodNotAllowed:
		return at + " does not accept POST (HTTP 405); is it an MCP Streamable HTTP endpoint? Check the URL given to xaactl proxy"
	case code == http.StatusTooManyRequests || code >= 500:
		return "the MCP server at " + at + " is unavailable (HTTP " + itoa(code) + text + "); try again later"
	}
	return "the MCP server at " + at + " rejected the request (HTTP " + itoa(resp.StatusCode) + text + ")"
}

// challengeText quotes the error, error_description and scope of a Bearer
// challenge (RFC 6750 §3), which say why a token was refused.
func challengeText(resp *http.Response) string {
	params, _ := client.BearerChallenge(resp.Header.Values("WWW-Authenticate"))
	var parts []string
	for _, key := range []string{"error", "error_description", "scope"} {
		if v := params[key]; v != "" {
			parts = append(parts, key+" "+strconv.Quote(clip(v, 200)))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

// snippet is the first line of a text body, printable and short, as ": …".
func snippet(body []byte) string {
	line, _, _ := strings.Cut(string(body), "\n")
	line = strings.TrimSpace(line)
	if line == "" {
		return ""
	}
	return ": " + strconv.Quote(clip(line, 200))
}

// clip cuts s to at most n bytes without splitting a UTF-8 sequence, and
// replaces anything unprintable.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
