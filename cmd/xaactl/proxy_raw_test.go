package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// rawProxy drives a running `xaactl proxy` line by line, for tests that
// look at the exact bytes relayed or send what a go-sdk client would not.
type rawProxy struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr *syncBuffer
	waited bool
}

// startRaw starts `xaactl --socket socket proxy url args...`.
func startRaw(t testing.TB, bin, socket, url string, args ...string) *rawProxy {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--socket", socket, "proxy", url}, args...)...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &rawProxy{cmd: cmd, in: in, out: bufio.NewScanner(out), stderr: &syncBuffer{}}
	p.out.Buffer(make([]byte, 64<<10), 64<<20)
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !p.waited {
			in.Close()
			cmd.Wait()
		}
		checkNoToken(t, p.stderr.String())
	})
	return p
}

func (p *rawProxy) send(t testing.TB, line string) {
	t.Helper()
	if _, err := io.WriteString(p.in, line+"\n"); err != nil {
		t.Fatalf("write to the proxy: %v", err)
	}
}

// reply is one line from the proxy, its members raw.
type reply map[string]json.RawMessage

func (r reply) errorMessage() string {
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	json.Unmarshal(r["error"], &e)
	return e.Message
}

func (r reply) errorCode() int {
	var e struct {
		Code int `json:"code"`
	}
	json.Unmarshal(r["error"], &e)
	return e.Code
}

// next reads the next line.
func (p *rawProxy) next(t testing.TB) (reply, string) {
	t.Helper()
	if !p.out.Scan() {
		t.Fatalf("the proxy closed stdout (%v); stderr:\n%s", p.out.Err(), p.stderr.String())
	}
	line := p.out.Text()
	var r reply
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("the proxy wrote a line that is not JSON: %q", line)
	}
	return r, line
}

// call sends a request with the raw id and returns the line answering it,
// skipping notifications.
func (p *rawProxy) call(t testing.TB, id, method, params string) (reply, string) {
	t.Helper()
	p.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":%q,"params":%s}`, id, method, params))
	for {
		r, line := p.next(t)
		if _, isNote := r["method"]; isNote {
			continue
		}
		if string(r["id"]) != id {
			t.Fatalf("answer %s to another request than %s", line, id)
		}
		return r, line
	}
}

// exit closes stdin and returns the exit code.
func (p *rawProxy) exit(t testing.TB) int {
	t.Helper()
	p.in.Close()
	p.waited = true
	err := p.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// initParams is an initialize for version.
func initParams(version string) string {
	return `{"protocolVersion":"` + version + `","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}`
}

// meta2026 is the _meta every 2026-07-28 request carries.
const meta2026 = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}`

func params2026(fields string) string {
	if fields == "" {
		return "{" + meta2026 + "}"
	}
	return "{" + fields + "," + meta2026 + "}"
}

func mustContain(t testing.TB, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s %q lacks %q", what, s, sub)
		}
	}
}
