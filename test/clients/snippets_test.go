package clients_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/client"
)

var snippetRE = regexp.MustCompile("(?s)<!-- snippet: ([a-z0-9-]+) -->\n```[a-z]*\n(.*?)```")

// snippet returns the code block docs/clients.md marks with name.
func snippet(t *testing.T, name string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "clients.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range snippetRE.FindAllStringSubmatch(string(doc), -1) {
		if m[1] == name {
			return m[2]
		}
	}
	t.Fatalf("docs/clients.md has no snippet %q", name)
	return ""
}

// Every snippet docs/clients.md marks is one a test here runs.
func TestEverySnippetIsTested(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "clients.md"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("clients_test.go")
	if err != nil {
		t.Fatal(err)
	}
	ms := snippetRE.FindAllStringSubmatch(string(doc), -1)
	if len(ms) < 10 {
		t.Fatalf("docs/clients.md marks %d snippets; the tests would prove little", len(ms))
	}
	for _, m := range ms {
		if !strings.Contains(string(src), `snippet(t, "`+m[1]+`")`) {
			t.Errorf("snippet %q of docs/clients.md is run by no test", m[1])
		}
	}
}

// tokenRequests is how many tokens callers asked the daemon for: a header
// helper's runs.
func tokenRequests(t *testing.T, r *rig) uint64 {
	t.Helper()
	c, err := client.Dial(context.Background(), r.env.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, s := range st.GetServers() {
		n += s.GetCounters().GetRequests()
	}
	return n
}
