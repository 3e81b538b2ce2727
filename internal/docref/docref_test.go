package docref

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// root is the repository root, two levels above this package.
func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: %v", r, err)
	}
	return r
}

func loadDocs(t *testing.T, r string) map[string]Index {
	t.Helper()
	docs := map[string]Index{}
	for _, d := range Docs {
		b, err := os.ReadFile(filepath.Join(r, d))
		if err != nil {
			t.Fatalf("%s: %v (code cites it; it must exist)", d, err)
		}
		docs[d] = NewIndex(string(b))
	}
	return docs
}

// checked says whether a file is checked, and whether bare names are fine
// in it. Code and scripts must say docs/; markdown links its neighbours.
func checked(rel string) (ok, bare bool) {
	switch filepath.Ext(rel) {
	case ".go", ".sh", ".yaml", ".yml", ".toml", ".proto", ".mjs", ".service", ".socket":
		return true, false
	case ".md":
		return true, true
	}
	return rel == ".ci/run", false
}

// Every reference in the tree names a document the repository has, with
// the docs/ prefix, and a section, step and item that document has.
func TestCitations(t *testing.T) {
	r := root(t)
	docs := loadDocs(t, r)
	var files int
	err := filepath.WalkDir(r, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(r, p)
		if d.IsDir() {
			// Not the repository's: caches, build output, the checker's own
			// examples of bad citations.
			if slices.Contains([]string{".git", ".cache", ".bin", "dist", "node_modules", "internal/docref"}, rel) {
				return filepath.SkipDir
			}
			return nil
		}
		ok, bare := checked(rel)
		if !ok {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		for _, e := range Check(rel, string(b), docs, bare) {
			t.Error(e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("checked only %d files under %s: the walk is broken", files, r)
	}
}

// The checker itself, on citations good and bad, against the real docs.
func TestCheck(t *testing.T) {
	docs := loadDocs(t, root(t))
	for _, tc := range []struct {
		text string
		want string // a part of the one error expected; "" for none
	}{
		{"// docs/protocol.md §2 step 7.2: renew once", ""},
		{"// (docs/protocol.md §6 items 1, 2 and 16): exactly", ""},
		{"// docs/protocol.md §3.3 items 2-9 and 11.", ""},
		{"// docs/protocol.md §5.3 item 2; docs/protocol.md §4.1", ""},
		{"// docs/protocol.md §2 step 7.2, §4.1", ""},
		{"// the renewal ladder (docs/protocol.md\n// §2 step 7)", ""},
		{"# docs/toolchain.md §4 recipe C", ""},
		{"// docs/architecture.md §5: refresh policy", ""},
		{"// docs/protocol.md, step 0", ""}, // no section cited: nothing to check
		{"// see protocol.md §2", "without the docs/ prefix"},
		{"# nfpm v2.48.0 fails (toolchain.md)", "without the docs/ prefix"},
		{"// anchors.md section 6", "state the rule in the comment"},
		{"// docs/style.md 7.8", "does not have"},
		{"// /work/shared/docs/protocol.md §2", "outside the repository"},
		{"// docs/protocol.md §9", "has no §9"},
		{"// docs/protocol.md §2 step 8", "has no step 8"},
		{"// docs/protocol.md §2 step 7.5", "step 7 has no entry 5"},
		{"// docs/protocol.md §6 items 25-39", "has no item 39"},
		{"// docs/protocol.md §2 step 7.2, §4.9", "has no §4.9"},
		{"// docs/toolchain.md §6", "has no §6"},
		{"// docs/toolchain.md §2b", ""},
		{"// docs/protocol.md §3.3 step 11 and JAG §7.4.1.2", ""}, // §3.3 numbers its steps as a list
		{"// docs/protocol.md §3.3 step 14", "has no item 14"},
	} {
		errs := Check("x.go", tc.text, docs, false)
		switch {
		case tc.want == "" && len(errs) > 0:
			t.Errorf("%q: unexpected %q", tc.text, errs)
		case tc.want != "" && (len(errs) != 1 || !strings.Contains(errs[0], tc.want)):
			t.Errorf("%q: got %q, want one error with %q", tc.text, errs, tc.want)
		}
	}
	if errs := Check("docs/x.md", "see [protocol.md](protocol.md) and docs/protocol.md §2 step 9", docs, true); len(errs) != 1 {
		t.Errorf("markdown: got %q, want only the bad step", errs)
	}
}

// The index reads the numbering the citations rely on.
func TestIndex(t *testing.T) {
	p := loadDocs(t, root(t))["docs/protocol.md"]
	for _, s := range []string{"0", "1", "2", "3.1", "3.3", "3.4", "4.1", "4.2", "4.3", "5.1", "5.2", "5.3", "6", "7"} {
		if !p.Sections[s] {
			t.Errorf("docs/protocol.md: no §%s", s)
		}
	}
	for scope, n := range map[string]int{"6": 38, "5.3": 11, "7": 10, "3.3": 13, "2 step 7": 4, "2 step 2": 5} {
		if p.Items[scope] != n {
			t.Errorf("docs/protocol.md %s: %d items, want %d", scope, p.Items[scope], n)
		}
	}
	for step := range 8 {
		if !p.Steps["2"][string(rune('0'+step))] {
			t.Errorf("docs/protocol.md §2: no step %d", step)
		}
	}
}

// repoPath is a backquoted path into the repository in a document.
var repoPath = regexp.MustCompile("`((?:broker|client|cmd|daemon|deploy|docs|internal|packaging|proto|scripts|storage|test)/[^`\\s]*)`")

// Every file or folder of the repository that README.md and docs/ name in
// backquotes exists, so the documents follow the code when it moves.
func TestDocumentedPathsExist(t *testing.T) {
	r := root(t)
	docs, err := filepath.Glob(filepath.Join(r, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range append(docs, filepath.Join(r, "README.md")) {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(r, doc)
		for _, m := range repoPath.FindAllStringSubmatch(string(b), -1) {
			p := strings.TrimSuffix(m[1], "/")
			if strings.ContainsAny(p, "<>{}$") || strings.Contains(p, "...") {
				continue // a placeholder, not a path
			}
			matches, _ := filepath.Glob(filepath.Join(r, p))
			if len(matches) == 0 {
				t.Errorf("%s names %s, which does not exist", rel, m[1])
			}
		}
	}
}
