package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/xaad-dev/xaad/internal/testdaemon"
)

// proxyRSSBound is the memory the proxy may use whatever a server sends
// (docs: xaactl proxy --help, "--max-message").
const proxyRSSBound = 64 << 20

// A hostile MCP server cannot take the proxy's memory: an event that never
// ends, a line that never ends, a 100 MB JSON answer, a 100 MB error page,
// each in answer to one request, cost that request a JSON-RPC error, and the
// proxy's peak RSS stays under 64 MiB. A request to the same server after
// the attacks is served. The binary is built without the race detector,
// whose shadow memory would be measured too.
func TestProxyMemoryBoundedAgainstHostileServer(t *testing.T) {
	env := startEnv(t, testdaemon.Options{})
	hostile := httptest.NewServer(http.HandlerFunc(hostileMCP))
	defer hostile.Close()
	p := startRaw(t, plainXaactlBinary(t), env.Socket, hostile.URL+"/mcp")
	for _, attack := range []string{"endless-event", "endless-line", "huge-json", "huge-error", "endless-event"} {
		r, line := p.call(t, "1", "tools/call", `{"name":"`+attack+`"}`)
		if r["error"] == nil || !strings.Contains(r.errorMessage(), "xaactl proxy") {
			t.Errorf("%s: answered %.300s, want a JSON-RPC error from the proxy", attack, line)
		}
	}
	if r, line := p.call(t, "2", "tools/call", `{"name":"fine"}`); r["result"] == nil {
		t.Errorf("a fine request after the attacks: %.300s", line)
	}
	if hwm := peakRSS(t, p.cmd.Process.Pid); hwm > proxyRSSBound {
		t.Errorf("the proxy's peak RSS was %d MiB, over the %d MiB bound", hwm>>20, proxyRSSBound>>20)
	} else {
		t.Logf("peak RSS %d MiB", hwm>>20)
	}
}

// hostileMCP answers each tools/call as its name says. It needs no token,
// so the proxy sends its requests without one.
func hostileMCP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/mcp" {
		http.Error(w, "no", http.StatusNotFound)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var id string
	if i := strings.Index(string(body), `"id":`); i >= 0 {
		id = strings.SplitN(string(body)[i+5:], ",", 2)[0]
	}
	chunk := strings.Repeat("x", 64<<10)
	write := func(s string) bool { _, err := io.WriteString(w, s); return err == nil }
	switch {
	case strings.Contains(string(body), "endless-event"):
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 100<<20/len(chunk) && write("data: "+chunk+"\n"); i++ {
		}
	case strings.Contains(string(body), "endless-line"):
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; write(chunk) && i < 100<<20/len(chunk); i++ {
		}
	case strings.Contains(string(body), "huge-json"):
		w.Header().Set("Content-Type", "application/json")
		write(`{"jsonrpc":"2.0","id":` + id + `,"result":{"pad":"`)
		for i := 0; i < 100<<20/len(chunk) && write(chunk); i++ {
		}
		write(`"}}`)
	case strings.Contains(string(body), "huge-error"):
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadRequest)
		for i := 0; i < 100<<20/len(chunk) && write(chunk); i++ {
		}
	default:
		w.Header().Set("Content-Type", "application/json")
		write(`{"jsonrpc":"2.0","id":` + id + `,"result":{"content":[]}}`)
	}
}

// peakRSS reads VmHWM, the process's peak resident set, from /proc.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

var (
	plainOnce sync.Once
	plainPath string
	plainErr  error
)

// plainXaactlBinary builds xaactl without the race detector.
func plainXaactlBinary(t testing.TB) string {
	t.Helper()
	xaactlBinary(t) // makes binDir
	plainOnce.Do(func() {
		plainPath = filepath.Join(binDir, "xaactl-plain")
		out, err := exec.Command("go", "build", "-o", plainPath, ".").CombinedOutput()
		if err != nil {
			plainErr = &buildError{err: err, out: string(out)}
		}
	})
	if plainErr != nil {
		t.Fatal(plainErr)
	}
	return plainPath
}
