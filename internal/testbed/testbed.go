package testbed

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Testbed is a running IdP, MCP authorization server and MCP server, each an
// httptest server on loopback. All methods are safe for concurrent use.
type Testbed struct {
	// IdP is the enterprise identity provider.
	IdP *IdP
	// AS is the MCP server's authorization server.
	AS *AS
	// AS2 is the second authorization server; nil unless
	// Options.SecondAS is set.
	AS2 *AS
	// MCP is the MCP server (the protected resource).
	MCP *MCPServer
	// MCPs is MCP, then the servers of Options.ExtraMCPServers.
	MCPs []*MCPServer

	opts   Options
	faults *faultSet
	limits *rateLimits
	stats  *stats
	dpop   *dpopState // nil unless Options.DPoP.Enabled

	servers   []*httptest.Server
	transport *http.Transport
	closed    chan struct{}
	closeOnce sync.Once
}

// Start starts the three servers. Call [Testbed.Close] when done.
func Start(opts Options) (*Testbed, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	tb := &Testbed{
		opts:      opts,
		faults:    newFaultSet(),
		limits:    &rateLimits{},
		stats:     newStats(),
		closed:    make(chan struct{}),
		transport: &http.Transport{},
	}
	tb.dpop = newDPoPState(tb)
	idpSrv := httptest.NewUnstartedServer(nil)
	asSrv := httptest.NewUnstartedServer(nil)
	mcpSrvs := make([]*httptest.Server, 1+opts.ExtraMCPServers)
	for i := range mcpSrvs {
		mcpSrvs[i] = httptest.NewUnstartedServer(nil)
	}
	tb.servers = append([]*httptest.Server{idpSrv, asSrv}, mcpSrvs...)
	base := func(s *httptest.Server) string { return "http://" + s.Listener.Addr().String() }

	var err error
	if tb.IdP, err = newIdP(tb, base(idpSrv)); err != nil {
		tb.Close()
		return nil, err
	}
	if tb.AS, err = newAS(tb, base(asSrv), firstAS(opts)); err != nil {
		tb.Close()
		return nil, err
	}
	if opts.SecondAS != nil {
		as2Srv := httptest.NewUnstartedServer(nil)
		tb.servers = append(tb.servers, as2Srv)
		if tb.AS2, err = newAS(tb, base(as2Srv), secondAS(opts)); err != nil {
			tb.Close()
			return nil, err
		}
		as2Srv.Config.Handler = tb.AS2.handler()
	}
	for _, s := range mcpSrvs {
		m := newMCPServer(tb, base(s))
		tb.MCPs = append(tb.MCPs, m)
		// The IdP learns which resources each AS governs (EMA §7.6.1)
		// only now that the MCP URL is known.
		tb.IdP.addAudience(tb.AS.Issuer(), m.URL())
		if tb.AS2 != nil {
			tb.IdP.addAudience(tb.AS2.Issuer(), m.URL())
		}
	}
	tb.MCP = tb.MCPs[0]
	for aud, res := range opts.ExtraAudiences {
		tb.IdP.addAudience(aud, res...)
	}

	idpSrv.Config.Handler = tb.IdP.handler()
	asSrv.Config.Handler = tb.AS.handler()
	for i, s := range mcpSrvs {
		s.Config.Handler = tb.MCPs[i].handler()
	}
	for _, s := range tb.servers {
		s.Start()
	}
	return tb, nil
}

func (o Options) validate() error {
	if o.IdPClient.ID == o.ASClient.ID {
		// docs/protocol.md §6 item 16: the two registrations must be told apart.
		return fmt.Errorf("testbed: IdP and AS client ids must differ, both are %q", o.IdPClient.ID)
	}
	if o.ExtraMCPServers < 0 || o.ExtraMCPServers > maxExtraMCPServers {
		return fmt.Errorf("testbed: ExtraMCPServers %d: want 0 to %d", o.ExtraMCPServers, maxExtraMCPServers)
	}
	if o.ASIssuerPath != "" && (!strings.HasPrefix(o.ASIssuerPath, "/") || strings.HasSuffix(o.ASIssuerPath, "/")) {
		return fmt.Errorf("testbed: ASIssuerPath %q must start and not end with /", o.ASIssuerPath)
	}
	if o.SecondAS != nil && (o.SecondAS.ID == o.IdPClient.ID || o.DPoP.Enabled) {
		return fmt.Errorf("testbed: the second AS's client must differ from the IdP's, and DPoP is not offered there")
	}
	for _, c := range []Client{o.IdPClient, o.ASClient} {
		if c.Auth == AuthPrivateKeyJWT && c.PublicKey == nil {
			return fmt.Errorf("testbed: client %q uses private_key_jwt without a PublicKey", c.ID)
		}
	}
	return o.DPoP.validate()
}

// maxExtraMCPServers bounds Options.ExtraMCPServers: each is a listener.
const maxExtraMCPServers = 64

// serves reports whether resource is one of the MCP servers, the resources
// the testbed's AS governs.
func (tb *Testbed) serves(resource string) bool {
	for _, m := range tb.MCPs {
		if m.URL() == resource {
			return true
		}
	}
	return false
}

// Close stops the servers. Requests held by a hang or latency fault return
// first, so Close never waits on them.
func (tb *Testbed) Close() {
	tb.closeOnce.Do(func() {
		close(tb.closed)
		for _, s := range tb.servers {
			if s.URL == "" {
				// Never started: only the listener exists.
				s.Listener.Close()
				continue
			}
			s.CloseClientConnections()
			s.Close()
		}
		tb.transport.CloseIdleConnections()
	})
}

// Options returns the effective options, defaults filled in.
func (tb *Testbed) Options() Options { return tb.opts }

// Now returns the testbed clock's current time.
func (tb *Testbed) Now() time.Time { return tb.opts.Now() }

// HTTPClient returns a client that does not follow redirects (token
// endpoints must not be redirected, docs/architecture.md §6, "Hostile upstreams") and
// whose idle connections [Testbed.Close] closes, for tests that talk to the
// servers by hand. The timeout only guards against a hung test.
func (tb *Testbed) HTTPClient() *http.Client {
	return &http.Client{
		Transport: tb.transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Timeout: 30 * time.Second,
	}
}
