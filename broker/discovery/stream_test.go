package discovery_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/broker/discovery"
)

// Some MCP servers answer every GET, the well-known URLs included, with an
// event stream that never ends. Discovery used to read it until its
// timeout (15 s in the daemon) before finding it was not JSON; it now
// refuses the answer by its type, before reading the body.
func TestEndlessEventStreamIsNotMetadata(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"jsonrpc":"2.0","id":1,"result":{}}`))
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte("data: \n\n"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	// A timeout long enough that reaching it means the body was read.
	c := &discovery.Client{HTTP: srv.Client(), Timeout: time.Minute}
	_, err := c.ProtectedResource(context.Background(), srv.URL+"/mcp")
	if !errors.Is(err, discovery.ErrInvalid) || !strings.Contains(err.Error(), `content type "text/event-stream" is not JSON`) {
		t.Fatalf("err = %v, want the event stream refused as not JSON", err)
	}
}
