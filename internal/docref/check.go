package docref

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	// mention finds a document name; what precedes it tells whether it
	// has the docs/ prefix.
	mention = regexp.MustCompile(`(docs/)?\b(protocol|architecture|toolchain|anchors|style)\.md\b`)
	// citation is what may follow a document name: §N or §N.M, then
	// optionally steps or items. Comment markers between are allowed, so
	// a citation may wrap to the next comment line.
	citation = regexp.MustCompile(`^[\s/#*,]*(?:and\s+)?§(\d+(?:\.\d+|[a-z])?)(?:[\s/#*,]+(steps?|items?)[\s/#*]+((?:\d+(?:\.\d+)?(?:\s*(?:-|–|,|and)\s*)?)+))?`)
	number   = regexp.MustCompile(`\d+(?:\.\d+)?`)
)

// Check reports the bad references in text, the contents of the file
// named path. docs maps each document of [Docs] to its index; a document
// missing from docs does not exist. With bare set, a name without the
// docs/ prefix is fine (markdown in docs/ links its neighbours so).
func Check(path, text string, docs map[string]Index, bare bool) []string {
	var errs []string
	for _, m := range mention.FindAllStringSubmatchIndex(text, -1) {
		line := 1 + strings.Count(text[:m[0]], "\n")
		name := text[m[4]:m[5]] + ".md"
		doc := "docs/" + name
		at := fmt.Sprintf("%s:%d", path, line)
		switch {
		case m[2] < 0 && bare:
			continue
		case m[2] < 0 && !slices.Contains(Docs, doc):
			errs = append(errs, fmt.Sprintf("%s: cites %s, which the repository does not have: state the rule in the comment, or cite one of %s", at, name, strings.Join(Docs, ", ")))
			continue
		case m[2] < 0:
			errs = append(errs, fmt.Sprintf("%s: cites %s without the docs/ prefix: write %s", at, name, doc))
			continue
		case m[0] > 0 && strings.ContainsAny(text[m[0]-1:m[0]], "/.-_") || m[0] > 0 && isWordByte(text[m[0]-1]):
			errs = append(errs, fmt.Sprintf("%s: cites a %s outside the repository: cite %s", at, name, doc))
			continue
		}
		idx, ok := docs[doc]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: cites %s, which the repository does not have (its documents: %s)", at, doc, strings.Join(Docs, ", ")))
			continue
		}
		for _, e := range checkCitations(text[m[1]:], idx) {
			errs = append(errs, fmt.Sprintf("%s: %s %s", at, doc, e))
		}
	}
	return errs
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// checkCitations checks each section cited right after a document name
// ("§2 step 7.2, §4.1"; rest is the text after the name).
func checkCitations(rest string, idx Index) []string {
	var errs []string
	for {
		c := citation.FindStringSubmatch(rest)
		if c == nil {
			return errs
		}
		if e := checkCitation(c, idx); e != "" {
			errs = append(errs, e)
		}
		rest = rest[len(c[0]):]
	}
}

// checkCitation checks one citation's section, steps and items (c is a
// match of citation). It returns "" when they all exist.
func checkCitation(c []string, idx Index) string {
	sec := c[1]
	if !idx.Sections[sec] {
		return fmt.Sprintf("has no §%s", sec)
	}
	if c[2] == "" {
		return ""
	}
	for _, n := range number.FindAllString(c[3], -1) {
		// A section without step headings numbers its steps as a list
		// (§3.3's checks): "step 11" there is entry 11.
		if strings.HasPrefix(c[2], "step") && len(idx.Steps[sec]) > 0 {
			step, item, _ := strings.Cut(n, ".")
			if !idx.Steps[sec][step] {
				return fmt.Sprintf("§%s has no step %s", sec, step)
			}
			if item != "" && !hasItem(idx, sec+" step "+step, item) {
				return fmt.Sprintf("§%s step %s has no entry %s", sec, step, item)
			}
			continue
		}
		if !hasItem(idx, sec, n) {
			return fmt.Sprintf("§%s has no item %s", sec, n)
		}
	}
	return ""
}

func hasItem(idx Index, scope, n string) bool {
	i, err := strconv.Atoi(n)
	return err == nil && i >= 1 && i <= idx.Items[scope]
}
