package bridge

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/internal/clock"
)

// pipeBridge runs the bridge for endpoint on pipes and returns functions to
// write a line to it and read the next line from it.
func pipeBridge(t *testing.T, endpoint string, clk clock.Clock) (send func(string), recv func() map[string]json.RawMessage) {
	t.Helper()
	cin, bin := io.Pipe()
	bout, cout := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), Config{Endpoint: endpoint, Tokens: &tokens{}, Stdin: cin, Stdout: cout, Clock: clk})
		cout.Close()
	}()
	t.Cleanup(func() {
		bin.Close()
		if err := <-done; err != nil {
			t.Errorf("bridge: %v", err)
		}
	})
	sc := bufio.NewScanner(bout)
	send = func(line string) {
		if _, err := io.WriteString(bin, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	recv = func() map[string]json.RawMessage {
		if !sc.Scan() {
			t.Fatal("the bridge closed stdout")
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Bytes(), err)
		}
		return m
	}
	return send, recv
}

// A request's stream that breaks before the answer is resumed with GET and
// Last-Event-ID after the server's retry delay (Streamable HTTP
// 2025-11-25, "Resumability and Redelivery"), whatever line endings the
// server uses; the client gets the notification and the answer once each.
func TestBridgeResumesRequestStream(t *testing.T) {
	var mu sync.Mutex
	var resumedWith string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		switch r.Method {
		case http.MethodPost:
			body, _ := io.ReadAll(r.Body)
			if !strings.Contains(string(body), `"method":"tools/call"`) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25"}}`)
				return
			}
			// Bare CRs end the lines; the stream ends after one event.
			io.WriteString(w, "retry: 1000\rid: e1\rdata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":\"p\",\"progress\":1}}\r\r")
		case http.MethodGet:
			if r.Header.Get("Last-Event-ID") == "" {
				http.Error(w, "no standalone stream", http.StatusMethodNotAllowed)
				return
			}
			mu.Lock()
			resumedWith = r.Header.Get("Last-Event-ID")
			mu.Unlock()
			io.WriteString(w, "id: e2\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\r\ndata: \"result\":{\"content\":[]}}\r\n\r\n")
		}
	}))
	defer ts.Close()
	clk := clock.NewFake(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	send, recv := pipeBridge(t, ts.URL, clk)
	send(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25"}}`)
	if m := recv(); string(m["id"]) != `"init"` || m["result"] == nil {
		t.Fatalf("initialize: %v", m)
	}
	send(`{"jsonrpc":"2.0","id":"call","method":"tools/call","params":{"name":"x","_meta":{"progressToken":"p"}}}`)
	if m := recv(); string(m["method"]) != `"notifications/progress"` {
		t.Fatalf("first message %v, want the progress notification", m)
	}
	clk.WaitTimers(1) // the bridge waits the server's retry delay
	clk.Advance(time.Second)
	m := recv()
	if string(m["id"]) != `"call"` || m["result"] == nil {
		t.Errorf("answer %v, want the result under the client's id", m)
	}
	mu.Lock()
	defer mu.Unlock()
	if resumedWith != "e1" {
		t.Errorf("resumed with Last-Event-ID %q, want e1", resumedWith)
	}
}

// A server's first event on a stream may be a priming event, an id and an
// empty data field (Streamable HTTP 2025-11-25, "Sending Messages to the
// Server"). It is no message: the request it primes must still get its
// answer, not a "malformed message" error.
func TestBridgeSkipsPrimingEvents(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "no standalone stream", http.StatusMethodNotAllowed)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), `"method":"tools/call"`) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25"}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "id: e1\nretry: 500\ndata: \n\nid: e2\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"content\":[]}}\n\n")
	}))
	defer ts.Close()
	send, recv := pipeBridge(t, ts.URL, nil)
	send(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25"}}`)
	if m := recv(); m["result"] == nil {
		t.Fatalf("initialize: %v", m)
	}
	send(`{"jsonrpc":"2.0","id":"call","method":"tools/call","params":{"name":"x"}}`)
	if m := recv(); string(m["id"]) != `"call"` || m["result"] == nil {
		t.Errorf("answer %v, want the result after the priming event", m)
	}
}
