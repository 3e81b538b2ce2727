package hostile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"time"
)

// proxyRSS bounds the peak resident memory of `xaactl proxy`, whatever a
// server sends it (xaactl proxy --help, --max-message).
const proxyRSS = 64 << 20

// serverAttacks are what the hostile MCP server answers a tools/call of
// that name with: about 100 MB each, unless the proxy stops reading.
var serverAttacks = []string{"endless-data-lines", "huge-json", "endless-event", "huge-error"}

// hostileServer runs a real `xaactl proxy` (the built binary) against an
// MCP server that answers with endless `data:` lines, a 100 MB JSON body,
// an event that never ends and a 100 MB error page: each must cost its
// request a JSON-RPC error, the proxy must stay under its memory bound,
// and a fine request after them must be served.
func hostileServer() *Attack {
	return &Attack{
		Name:     "hostile-server",
		What:     "an MCP server answers `xaactl proxy` with endless data: lines, a 100 MB JSON body, an endless event and a 100 MB error page",
		Procs:    1,
		Duration: 2 * time.Second,
		Prepare: func(*Target) (map[string]string, func(), error) {
			s := httptest.NewServer(http.HandlerFunc(serveHostileMCP))
			return map[string]string{"server": s.URL + "/mcp"}, s.Close, nil
		},
		Run: func(e *Env) *Outcome {
			o := newOutcome()
			cmd := exec.Command(e.Xaactl, "--socket", e.Socket, "proxy", e.Args["server"])
			in, err := cmd.StdinPipe()
			if err != nil {
				o.unexpected("stdin: %v", err)
				return o
			}
			out, err := cmd.StdoutPipe()
			if err != nil {
				o.unexpected("stdout: %v", err)
				return o
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				o.unexpected("start the proxy: %v", err)
				return o
			}
			defer func() {
				in.Close()
				cmd.Wait()
			}()
			lines := bufio.NewScanner(out)
			lines.Buffer(make([]byte, 64<<10), 1<<20) // the proxy's own errors are short
			call := func(id int, name string) (map[string]json.RawMessage, bool) {
				fmt.Fprintf(in, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q}}`+"\n", id, name)
				if !lines.Scan() {
					o.unexpected("%s: the proxy answered nothing: %v; stderr: %.500s", name, lines.Err(), stderr.String())
					return nil, false
				}
				var r map[string]json.RawMessage
				if err := json.Unmarshal(lines.Bytes(), &r); err != nil {
					o.unexpected("%s: the proxy answered %.200q: %v", name, lines.Text(), err)
					return nil, false
				}
				return r, true
			}
			id := 0
			for round := 0; round == 0 || !e.over(); round++ {
				for _, name := range serverAttacks {
					id++
					r, ok := call(id, name)
					if !ok {
						return o
					}
					if r["error"] != nil {
						o.add(name+": JSON-RPC error", string(r["error"]))
					} else {
						o.unexpected("%s: answered %.200s, want a JSON-RPC error", name, fmt.Sprint(r))
					}
				}
				id++
				r, ok := call(id, "fine")
				if !ok {
					return o
				}
				if r["result"] != nil {
					o.add("fine: served", "")
				} else {
					o.unexpected("a fine request after the attacks: %.200s", fmt.Sprint(r))
				}
			}
			st, err := ReadProcStats(cmd.Process.Pid)
			if err != nil {
				o.unexpected("the proxy's /proc: %v", err)
				return o
			}
			o.mu.Lock()
			o.Counts["proxy peak KiB"] = int(st.HWM >> 10)
			o.mu.Unlock()
			return o
		},
		Check: func(p *Phase) []string {
			var out []string
			peak := p.sum("proxy peak KiB") << 10
			switch {
			case peak == 0:
				out = append(out, "hostile-server: the proxy's peak memory was not measured: "+strings.Join(p.kinds(), ", "))
			case peak > proxyRSS:
				out = append(out, fmt.Sprintf("hostile-server: the proxy's peak resident memory was %s, over its bound of %s", mib(int64(peak)), mib(proxyRSS)))
			}
			for _, name := range serverAttacks {
				if p.sum(name+": JSON-RPC error") == 0 {
					out = append(out, "hostile-server: no JSON-RPC error for "+name+": "+strings.Join(p.kinds(), ", "))
				}
			}
			p.Note = fmt.Sprintf("the proxy's peak resident memory was %s (bound %s)", mib(int64(peak)), mib(proxyRSS))
			return out
		},
	}
}

// serveHostileMCP answers a tools/call as its name says; it needs no
// token, so the proxy reaches it without one.
func serveHostileMCP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	var req struct {
		ID     json.RawMessage `json:"id"`
		Params struct {
			Name string `json:"name"`
		} `json:"params"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	pad := strings.Repeat("y", 32<<10)
	// Until about 100 MB are sent, or the proxy hangs up.
	flood := func(s string) {
		for sent := 0; sent < 100<<20; sent += len(s) {
			if _, err := io.WriteString(w, s); err != nil {
				return
			}
		}
	}
	switch req.Params.Name {
	case "endless-data-lines":
		w.Header().Set("Content-Type", "text/event-stream")
		flood("data: " + pad + "\n")
	case "endless-event":
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: ")
		flood(pad)
	case "huge-json":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"pad":"`, req.ID)
		flood(pad)
		io.WriteString(w, `"}}`)
	case "huge-error":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		flood(pad)
	default:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"content":[]}}`, req.ID)
	}
}
