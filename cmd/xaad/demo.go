//go:build !nodemo

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/xaad-dev/xaad/client"
	"github.com/xaad-dev/xaad/cmd/xaad/cmdline"
	"github.com/xaad-dev/xaad/daemon"
	"github.com/xaad-dev/xaad/internal/testbed"
	xaadv1 "github.com/xaad-dev/xaad/proto/xaad/v1"
)

// cmdDemo runs the whole product against the built-in testbed: a local IdP,
// an MCP authorization server and an MCP server on loopback.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, o := cmdline.DemoFlags(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	d := &demo{out: stdout, serve: o.Serve, verbose: o.Verbose, dpop: o.DPoP, stderr: stderr, stateDir: o.StateDir}
	if err := d.run(ctx); err != nil {
		fmt.Fprintln(stderr, "xaad demo: FAILED:", err)
		return 1
	}
	return 0
}

type demo struct {
	out, stderr    io.Writer
	serve, verbose bool
	dpop           bool // DPoP everywhere (demo_dpop.go)
	stateDir       string
	step           int
}

// do runs one numbered step and prints its duration.
func (d *demo) do(what string, f func() (string, error)) error {
	d.step++
	start := time.Now()
	detail, err := f()
	el := time.Since(start)
	if err != nil {
		fmt.Fprintf(d.out, "%2d. %-58s FAILED after %s\n", d.step, what, round(el))
		return fmt.Errorf("%s: %w", what, err)
	}
	fmt.Fprintf(d.out, "%2d. %-58s %8s\n", d.step, what, round(el))
	if detail != "" {
		fmt.Fprintf(d.out, "    %s\n", detail)
	}
	return nil
}

func round(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	default:
		return d.Round(100 * time.Microsecond).String()
	}
}

func (d *demo) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fmt.Fprintln(d.out, "xaad demo: Enterprise-Managed Authorization (SEP-990) end to end, all on this machine")
	fmt.Fprintln(d.out)

	var tb *testbed.Testbed
	if err := d.do("start the testbed (IdP, authorization server, MCP server)", func() (string, error) {
		var err error
		tb, err = testbed.Start(d.testbedOptions())
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("IdP %s   AS %s   MCP %s", tb.IdP.Issuer(), tb.AS.Issuer(), tb.MCP.URL()), nil
	}); err != nil {
		return err
	}
	defer tb.Close()

	dir, err := os.MkdirTemp("", "xaad-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "xaad.sock")
	state, keyFile := filepath.Join(dir, "state"), filepath.Join(dir, "data.key")
	if d.stateDir != "" {
		if state, err = filepath.Abs(d.stateDir); err != nil {
			return err
		}
		keyFile = state + ".key"
	}
	cfg, err := demoConfig(dir, keyFile, tb, d.dpop)
	if err != nil {
		return err
	}

	ready := make(chan struct{})
	done := make(chan error, 1)
	logw := io.Discard
	if d.verbose {
		logw = d.stderr
	}
	if err := d.do("start xaad on a temporary Unix socket", func() (string, error) {
		go func() {
			done <- daemon.Run(ctx, daemon.Options{
				Config: cfg, SocketPath: sock, StateDir: state, Version: version,
				Logger: daemon.NewLogger(logw, "debug"), OnReady: func(string) { close(ready) },
			})
		}()
		select {
		case <-ready:
			return "socket " + sock, nil
		case err := <-done:
			return "", fmt.Errorf("daemon exited: %v", err)
		case <-time.After(30 * time.Second):
			return "", errors.New("daemon not ready after 30s")
		}
	}); err != nil {
		return err
	}

	c, err := client.Dial(ctx, sock)
	if err != nil {
		return err
	}
	defer c.Close()

	if err := d.do("sign in: import an enterprise ID token (xaactl login)", func() (string, error) {
		idt, err := tb.IdP.MintIDToken(testbed.IDTokenOptions{})
		if err != nil {
			return "", err
		}
		id, err := c.LoginImport(ctx, idt, "")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("signed in as %q at %s, ID token valid until %s%s", id.GetSubject(), id.GetIssuer(), id.GetIdTokenExpiresAt().AsTime().Local().Format(time.TimeOnly), d.keyNote(id)), nil
	}); err != nil {
		return err
	}

	var tok *client.Token
	if err := d.do("GetToken: discovery, token exchange (ID-JAG), jwt-bearer", func() (string, error) {
		var err error
		tok, err = c.GetToken(ctx, client.TokenRequest{Resource: tb.MCP.URL()})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s token from %s, scopes %v, expires %s (IdP exchanges: %d, AS grants: %d)%s",
			tok.TokenType, sourceName(tok.Source), tok.Scopes, tok.Expiry.Local().Format(time.TimeOnly), tb.TokenExchanges(), tb.JWTBearerGrants(), d.grantNote(tb)), nil
	}); err != nil {
		return err
	}

	if err := d.do("GetToken again: served from the daemon's memory", func() (string, error) {
		t, err := c.GetToken(ctx, client.TokenRequest{Resource: tb.MCP.URL()})
		if err != nil {
			return "", err
		}
		if t.AccessToken != tok.AccessToken {
			return "", errors.New("the cached token differs from the first one")
		}
		return fmt.Sprintf("source %s; still %d exchange(s) and %d grant(s) upstream", sourceName(t.Source), tb.TokenExchanges(), tb.JWTBearerGrants()), nil
	}); err != nil {
		return err
	}

	var session *mcp.ClientSession
	if err := d.do("open an MCP session with the token (go-sdk client)", func() (string, error) {
		hc := &http.Client{Transport: &client.Transport{Source: c, Resource: tb.MCP.URL()}}
		mc := mcp.NewClient(&mcp.Implementation{Name: "xaad-demo", Version: version}, nil)
		var err error
		session, err = mc.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: tb.MCP.URL(), HTTPClient: hc}, nil)
		if err != nil {
			return "", err
		}
		res := session.InitializeResult()
		return fmt.Sprintf("connected to %s %s", res.ServerInfo.Name, res.ServerInfo.Version), nil
	}); err != nil {
		return err
	}
	defer session.Close()

	if err := d.do("list tools and call one", func() (string, error) {
		tools, err := session.ListTools(ctx, nil)
		if err != nil {
			return "", err
		}
		var names []string
		for _, t := range tools.Tools {
			names = append(names, t.Name)
		}
		res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hello from xaad"}})
		if err != nil {
			return "", err
		}
		if res.IsError {
			return "", fmt.Errorf("tool error: %v", textOf(res))
		}
		return fmt.Sprintf("tools %v; echo answered %q", names, textOf(res)), nil
	}); err != nil {
		return err
	}

	if d.dpop {
		if err := d.dpopSteps(ctx, c, tb); err != nil {
			return err
		}
	}
	fmt.Fprintln(d.out)
	fmt.Fprintln(d.out, "OK: one enterprise sign-in, one token exchange, one jwt-bearer grant, one MCP tool call.")
	if d.dpop {
		fmt.Fprintln(d.out, "    The token is bound to xaad's key: a copy of it is useless to anyone else.")
	}
	if !d.serve {
		return nil
	}
	fmt.Fprintf(d.out, "\nThe testbed and the daemon keep running until Ctrl-C. Try:\n\n")
	fmt.Fprintf(d.out, "  export XAAD_SOCKET=%s\n", sock)
	fmt.Fprintf(d.out, "  go run ./cmd/xaactl status\n")
	if d.dpop {
		// A DPoP-bound token is useless printed: the proxy signs per request.
		fmt.Fprintf(d.out, "  go run ./cmd/xaactl proxy %s\n", tb.MCP.URL())
	} else {
		fmt.Fprintf(d.out, "  go run ./cmd/xaactl token %s --format json\n", tb.MCP.URL())
	}
	fmt.Fprintf(d.out, "  go run ./cmd/xaactl probe %s\n", tb.MCP.URL())
	fmt.Fprintf(d.out, "  grpcurl -plaintext -unix %s list\n\n", sock)
	<-ctx.Done()
	cancel()
	return <-done
}

func textOf(res *mcp.CallToolResult) string {
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			return t.Text
		}
	}
	return ""
}

// demoConfig writes the client secrets to 0600 files and returns the
// daemon configuration for the testbed.
func demoConfig(dir, keyFile string, tb *testbed.Testbed, dpop bool) (*daemon.FileConfig, error) {
	idpSecret := filepath.Join(dir, "idp.secret")
	asSecret := filepath.Join(dir, "as.secret")
	o := tb.Options()
	if err := os.WriteFile(idpSecret, []byte(o.IdPClient.Secret+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(asSecret, []byte(o.ASClient.Secret+"\n"), 0o600); err != nil {
		return nil, err
	}
	toml := fmt.Sprintf(`
[daemon]
allow_unlisted_servers = true
key_provider = "file"
key_file = %q

[idp]
issuer = %q
client_id = %q
auth_method = "client_secret_basic"
client_secret_file = %q

[[authorization_server]]
issuer = %q
client_id = %q
auth_method = "client_secret_basic"
client_secret_file = %q
dpop = %q

[[server]]
url = %q
`, keyFile, tb.IdP.Issuer(), o.IdPClient.ID, idpSecret, tb.AS.Issuer(), o.ASClient.ID, asSecret, demoPolicy(dpop), tb.MCP.URL())
	return daemon.ParseConfig([]byte(toml))
}

func sourceName(s xaadv1.TokenSource) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "TOKEN_SOURCE_"))
}
