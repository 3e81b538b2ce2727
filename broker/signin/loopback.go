package signin

import (
	"crypto/subtle"
	"html/template"
	"net/http"
	"net/url"
	"sync"
)

// callbackServer is the RFC 8252 loopback redirect target of one browser
// sign-in. Only a request with the sign-in's state counts; anything else (a
// stray or forged request) gets an explanation and changes nothing.
type callbackServer struct {
	issuer, state string
	// results carries the one callback with the right state.
	results chan callbackResult
	// done closes when the sign-in ends, releasing waiting handlers.
	done chan struct{}

	mu   sync.Mutex
	used bool
}

type callbackResult struct {
	code  string
	err   error
	reply chan page
}

func newCallbackServer(issuer, state string) *callbackServer {
	return &callbackServer{issuer: issuer, state: state, results: make(chan callbackResult), done: make(chan struct{})}
}

func (s *callbackServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/callback" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	// RFC 6749 §10.12: the state binds the redirect to this sign-in (CSRF).
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(s.state)) != 1 {
		writePage(w, page{status: http.StatusBadRequest, title: "Not a sign-in in progress",
			text: "This link does not belong to the sign-in xaad is waiting for, so it was ignored. If you are signing in, finish in the window that xaactl opened."})
		return
	}
	if !s.take() {
		writePage(w, page{status: http.StatusConflict, title: "Sign-in link already used",
			text: "This sign-in was already completed or refused. You can close this window."})
		return
	}
	res := callbackResult{reply: make(chan page, 1)}
	res.code, res.err = s.check(q)
	select {
	case s.results <- res:
	case <-s.done:
		writePage(w, page{status: http.StatusGone, title: "Sign-in ended", text: "xaad is no longer waiting for this sign-in. Run xaactl login again."})
		return
	case <-r.Context().Done():
		return
	}
	// The sign-in always answers a result it took.
	select {
	case p := <-res.reply:
		writePage(w, p)
	case <-r.Context().Done():
	}
}

// take marks the one redirect with the right state as used; later ones
// are refused.
func (s *callbackServer) take() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := !s.used
	s.used = true
	return first
}

// check reads the authorization response (RFC 6749 §4.1.2).
func (s *callbackServer) check(q url.Values) (string, error) {
	switch {
	case q.Get("error") != "":
		return "", authorizationError(q.Get("error"), q.Get("error_description"))
	case q.Has("iss") && q.Get("iss") != s.issuer:
		// RFC 9207 §2.4: a response from another issuer is a mix-up attack.
		return "", &Error{Kind: Refused, Msg: "the sign-in response names another issuer; refused (RFC 9207)"}
	case q.Get("code") == "":
		return "", &Error{Kind: Refused, Msg: "the IdP redirected back without an authorization code"}
	}
	return q.Get("code"), nil
}

// page is what the browser shows at the end of a sign-in.
type page struct {
	status int
	title  string
	text   string
	detail string
	ok     bool
}

func resultPage(p Person, err error) page {
	if err != nil {
		return page{status: http.StatusBadRequest, title: "Sign-in failed", text: "xaad could not sign you in. You can close this window; run xaactl login to try again.",
			detail: err.Error()}
	}
	return page{status: http.StatusOK, ok: true, title: "Signed in",
		text: "You are signed in to xaad as " + p.Subject + " at " + p.Issuer + ". You can close this window and return to the terminal."}
}

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>xaad: {{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}.ok{color:#1a7f37}.fail{color:#b42318}pre{white-space:pre-wrap;background:#f4f4f4;padding:.8em}</style></head>
<body><h1 id="result" class="{{if .OK}}ok{{else}}fail{{end}}">{{.Title}}</h1>
<p id="message">{{.Text}}</p>{{if .Detail}}<pre id="detail">{{.Detail}}</pre>{{end}}</body></html>
`))

func writePage(w http.ResponseWriter, p page) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// The URL holds the authorization code: no referrer, no framing, no
	// scripts or resources on this page.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(p.status)
	_ = pageTmpl.Execute(w, struct {
		Title, Text, Detail string
		OK                  bool
	}{p.title, p.text, p.detail, p.ok})
}
