package signin_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/broker/signin"
)

const (
	testIssuer = "https://idp.example"
	testState  = "s0mEStAtE"
)

// serveCallback sends one request to a fresh handler.
func serveCallback(t *testing.T, method, target string) (*httptest.ResponseRecorder, string, error, bool) {
	t.Helper()
	h, taken, end := signin.CallbackHandlerForTest(testIssuer, testState)
	defer end()
	return serveTo(h, taken, httptest.NewRequest(method, target, nil))
}

// serveTo serves one request and reports the result the sign-in took.
func serveTo(h http.Handler, taken <-chan signin.Taken, r *http.Request) (*httptest.ResponseRecorder, string, error, bool) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	select {
	case r := <-taken:
		return w, r.Code, r.Err, true
	default:
		return w, "", nil, false
	}
}

func TestCallbackServer(t *testing.T) {
	ok := "/callback?state=" + testState
	tests := []struct {
		name, method, target string
		status               int
		page                 string
		code                 string
		wantErr              string // of the result taken; "" and no code: none taken
	}{
		{"code", "GET", ok + "&code=abc&iss=" + url.QueryEscape(testIssuer), 200, "Signed in", "abc", ""},
		{"no iss", "GET", ok + "&code=abc", 200, "Signed in", "abc", ""},
		{"other path", "GET", "/other?state=" + testState + "&code=abc", 404, "not found", "", ""},
		{"POST", "POST", ok + "&code=abc", 405, "method not allowed", "", ""},
		{"wrong state", "GET", "/callback?state=guess&code=abc", 400, "does not belong", "", ""},
		{"no state", "GET", "/callback?code=abc", 400, "does not belong", "", ""},
		{"error", "GET", ok + "&error=access_denied&error_description=no+%3Cb%3E", 400, "Sign-in failed", "", "the IdP refused the sign-in: access_denied: no <b>"},
		{"other iss", "GET", ok + "&code=abc&iss=https://evil.example", 400, "RFC 9207", "", "the sign-in response names another issuer; refused (RFC 9207)"},
		{"empty iss", "GET", ok + "&code=abc&iss=", 400, "RFC 9207", "", "the sign-in response names another issuer; refused (RFC 9207)"},
		{"no code", "GET", ok, 400, "without an authorization code", "", "the IdP redirected back without an authorization code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, code, err, taken := serveCallback(t, tt.method, tt.target)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.page) {
				t.Errorf("answer %d %q, want %d with %q", w.Code, w.Body.String(), tt.status, tt.page)
			}
			if taken != (tt.code != "" || tt.wantErr != "") || code != tt.code {
				t.Fatalf("result taken=%v code=%q err=%v", taken, code, err)
			}
			if tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr || kindOf(err) != signin.Refused) {
				t.Errorf("err = %v, want Refused %q", err, tt.wantErr)
			}
			if strings.Contains(w.Body.String(), "<b>") {
				t.Error("the page carries unescaped markup from the query")
			}
		})
	}
}

// The page a redirect lands on holds the code in its URL: it must not
// leak it (no referrer, no caching), be framed, or load anything.
func TestCallbackPageHeaders(t *testing.T) {
	w, _, _, _ := serveCallback(t, "GET", "/callback?state="+testState+"&code=abc")
	want := map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Cache-Control":           "no-store",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
	}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}

// Only the first redirect with the right state counts; a replay is told
// so, and after the sign-in ends nothing is taken.
func TestCallbackUsedOnceAndEnded(t *testing.T) {
	h, taken, end := signin.CallbackHandlerForTest(testIssuer, testState)
	target := "/callback?state=" + testState + "&code=abc"
	if _, code, _, ok := serveTo(h, taken, httptest.NewRequest("GET", target, nil)); !ok || code != "abc" {
		t.Fatalf("first redirect: taken=%v code=%q", ok, code)
	}
	w, _, _, ok := serveTo(h, taken, httptest.NewRequest("GET", target, nil))
	if ok || w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "already used") {
		t.Fatalf("replay: taken=%v %d %s", ok, w.Code, w.Body.String())
	}
	end()

	h, taken, end = signin.CallbackHandlerForTest(testIssuer, testState)
	end()
	w, _, _, ok = serveTo(h, taken, httptest.NewRequest("GET", target, nil))
	if ok || w.Code != http.StatusGone || !strings.Contains(w.Body.String(), "no longer waiting") {
		t.Fatalf("after the end: taken=%v %d %s", ok, w.Code, w.Body.String())
	}
}

// FuzzCallback feeds arbitrary queries to the loopback handler. Whatever
// arrives, a result is taken only with the sign-in's state, a code is
// handed on only when the state is right, no error is present and any
// iss is the IdP's, and the page escapes what it echoes.
func FuzzCallback(f *testing.F) {
	f.Add("state=" + testState + "&code=abc&iss=https%3A%2F%2Fidp.example")
	f.Add("state=" + testState + "&error=x&error_description=%3Cscript%3E")
	f.Add("state=" + testState + "&state=other&code=a")
	f.Add("state=&code=a")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, rawQuery string) {
		h, results, end := signin.CallbackHandlerForTest(testIssuer, testState)
		defer end()
		r := httptest.NewRequest("GET", "/callback", nil)
		r.URL.RawQuery = rawQuery // as the server hands on whatever the browser sent
		w, code, err, taken := serveTo(h, results, r)
		q, _ := url.ParseQuery(rawQuery)
		if taken && q.Get("state") != testState {
			t.Fatalf("a result was taken with state %q", q.Get("state"))
		}
		if code != "" {
			if err != nil || q.Get("error") != "" || (q.Has("iss") && q.Get("iss") != testIssuer) || code != q.Get("code") {
				t.Fatalf("code %q handed on for %q (err %v)", code, rawQuery, err)
			}
		}
		if taken && code == "" && kindOf(err) != signin.Refused {
			t.Fatalf("a taken result without a code has err %v", err)
		}
		if strings.Contains(w.Body.String(), "<script") {
			t.Fatal("the page echoes markup unescaped")
		}
	})
}
