package grant_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker/grant"
	"github.com/xaad-dev/xaad/broker/upstream"
)

var received = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// answerWith is a token endpoint that checks what an authorization server
// checks of a jwt-bearer request (RFC 7523 §2.1, client_secret_basic) and
// then answers with status, headers and body.
func answerWith(t *testing.T, status int, headers map[string]string, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if r.Method != http.MethodPost || r.ParseForm() != nil || !ok || id != "client" || secret != "secret" ||
			r.PostForm.Get("grant_type") != grant.GrantJWTBearer || r.PostForm.Get("assertion") != "id-jag" {
			t.Errorf("unexpected request: %s %v", r.Method, r.PostForm)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func retryEndpoint(url string) *grant.Endpoint {
	return &grant.Endpoint{
		URL:  url + "/token",
		Auth: grant.ClientAuth{ClientID: "client", Secret: "secret"},
		Now:  func() time.Time { return received },
	}
}

// What a 429 or 503 says about when to come back rides on the OAuthError,
// read against the time the answer arrived, and reaches a gate through
// upstream.Answered.
func TestErrorAnswersCarryTheRetryTime(t *testing.T) {
	jsonErr := `{"error":"temporarily_unavailable"}`
	date := func(d time.Duration) string { return received.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name    string
		status  int
		headers map[string]string
		body    string
		want    time.Duration // -1: no hint
		field   string
		clipped bool
	}{
		{"429 with delay seconds", 429, map[string]string{"Retry-After": "7"}, jsonErr, 7 * time.Second, upstream.RetryAfter, false},
		{"503 with an HTML page and a date", 503, map[string]string{"Retry-After": date(-time.Hour + 30*time.Second), "Date": date(-time.Hour), "Content-Type": "text/html"}, "<h1>down</h1>", 30 * time.Second, upstream.RetryAfter, false},
		{"429 with Okta's reset", 429, map[string]string{"X-Rate-Limit-Reset": strconv.FormatInt(received.Add(42*time.Second).Unix(), 10), "Date": date(0)}, `{"errorCode":"E0000047"}`, 42 * time.Second, upstream.RateLimitReset, false},
		{"a day is clipped", 503, map[string]string{"Retry-After": "86400"}, jsonErr, upstream.MaxHold, upstream.RetryAfter, true},
		{"garbage is ignored", 429, map[string]string{"Retry-After": "soon"}, jsonErr, -1, "", false},
		{"503 without a time", 503, nil, jsonErr, -1, "", false},
		{"400 is not a pause", 400, map[string]string{"Retry-After": "7"}, `{"error":"invalid_grant"}`, -1, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := answerWith(t, tt.status, tt.headers, tt.body)
			_, err := grant.JWTBearer(context.Background(), retryEndpoint(srv.URL), grant.BearerRequest{Assertion: "id-jag"})
			var oe *grant.OAuthError
			if !errors.As(err, &oe) || oe.Status != tt.status {
				t.Fatalf("err %v, want an OAuthError with status %d", err, tt.status)
			}
			var a upstream.Answered
			if !errors.As(err, &a) {
				t.Fatal("OAuthError is not an upstream.Answered")
			}
			if status, h := a.Answer(); status != tt.status || h != oe.Retry {
				t.Fatalf("Answer() = %d, %+v", status, h)
			}
			if tt.want < 0 {
				if !oe.Retry.IsZero() {
					t.Fatalf("hint %+v, want none", oe.Retry)
				}
				return
			}
			h := oe.Retry
			if !h.At.Equal(received.Add(tt.want)) || h.Field != tt.field || h.Clipped != tt.clipped {
				t.Fatalf("hint %+v, want +%v from %s (clipped %v)", h, tt.want, tt.field, tt.clipped)
			}
			if !strings.Contains(err.Error(), h.String()) {
				t.Fatalf("message %q does not carry the retry time", err)
			}
		})
	}
}

// Every form POST of the package, not only the two grants, reads the
// answer's retry time: the IdP's refresh and device calls share its limit.
func TestEveryCallCarriesTheRetryTime(t *testing.T) {
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			url := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(http.StatusTooManyRequests)
			})
			ep := endpoint(url)
			ep.Now = func() time.Time { return received }
			err := c.do(context.Background(), ep)
			var oe *grant.OAuthError
			if !errors.As(err, &oe) || !oe.Retry.At.Equal(received.Add(7*time.Second)) {
				t.Fatalf("err %v, want an OAuthError retrying at +7s", err)
			}
		})
	}
}
