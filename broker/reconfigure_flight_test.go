package broker_test

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker"
	"github.com/xaad-dev/xaad/internal/testbed"
	"github.com/xaad-dev/xaad/storage"
)

// A reload that narrows a server's scopes while a refresh of its default
// scope set is in flight: the flight's token, asked for with the old wider
// set, is neither handed out, nor kept in memory, nor left on disk. The
// caller gets a token of the new set.
func TestReconfigureNarrowingDropsFlightInProgress(t *testing.T) {
	store := storage.NewMem()
	var url string
	bd := newBed(t, bedOpts{configure: func(c *broker.Config) {
		c.Store = store
	}})
	url = bd.tb.MCP.URL()
	wide := bd.cfg
	wide.Servers = []broker.ServerConfig{{URL: url, Scopes: []string{"tools.call", "tools.read"}}}
	if err := bd.b.Reconfigure(wide); err != nil {
		t.Fatal(err)
	}
	bd.tb.QueueFault(testbed.EndpointASToken, 1, testbed.Fault{Latency: 2 * time.Second})
	type result struct {
		tok *broker.Token
		err error
	}
	done := make(chan result, 1)
	go func() {
		tok, err := bd.b.Token(context.Background(), broker.TokenRequest{ServerURL: url})
		done <- result{tok, err}
	}()
	for bd.tb.Requests(testbed.EndpointASToken) == 0 {
		runtime.Gosched() // the grant with the wide set is on its way
	}
	narrow := bd.cfg
	narrow.Servers = []broker.ServerConfig{{URL: url, Scopes: []string{"tools.read"}}}
	if err := bd.b.Reconfigure(narrow); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err == nil && !slices.Equal(r.tok.Scopes, []string{"tools.read"}) {
		t.Errorf("the caller got a token of scopes %v after the reload narrowed them to tools.read", r.tok.Scopes)
	}
	again, err := bd.token(t, broker.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.Scopes, []string{"tools.read"}) {
		t.Errorf("served a token of scopes %v after the reload narrowed them to tools.read", again.Scopes)
	}
	recs, err := store.List("tokens")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range recs {
		if strings.Contains(string(v), "tools.call") {
			t.Fatalf("a token record of the old scope set is on disk: %q", k)
		}
	}
}
