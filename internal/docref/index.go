package docref

import (
	"regexp"
	"strconv"
	"strings"
)

// Index is what a document has that a citation can name: its numbered
// sections ("2", "3.3"), the steps of a section ("2" -> step "7"), and the
// numbered entries of a section or a step ("6" -> 38 items; "2 step 7" ->
// 4 items).
type Index struct {
	Sections map[string]bool
	Steps    map[string]map[string]bool // section -> step number
	Items    map[string]int             // "6" or "2 step 7" -> highest entry number
}

var (
	sectionHeading = regexp.MustCompile(`^##+ (\d+)(?:\.(\d+)|([a-z]))?[. ]`) // "## 2. ...", "### 5.3 ...", "### 2b. ..."
	stepHeading    = regexp.MustCompile(`^### Step (\d+)\b`)
	numberedEntry  = regexp.MustCompile(`^\s{0,3}(\d+)\. `)
)

// NewIndex reads a markdown document.
func NewIndex(md string) Index {
	idx := Index{Sections: map[string]bool{}, Steps: map[string]map[string]bool{}, Items: map[string]int{}}
	var section, top string // the innermost numbered section, and its top level
	scope := ""             // where numbered entries belong: a section, or "N step K"
	inFence := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
		}
		if inFence {
			continue
		}
		if m := sectionHeading.FindStringSubmatch(line); m != nil {
			top, section = m[1], m[1]
			if m[2] != "" {
				section = m[1] + "." + m[2]
			} else if m[3] != "" {
				section = m[1] + m[3]
			}
			idx.Sections[section] = true
			scope = section
			continue
		}
		if m := stepHeading.FindStringSubmatch(line); m != nil && top != "" {
			if idx.Steps[top] == nil {
				idx.Steps[top] = map[string]bool{}
			}
			idx.Steps[top][m[1]] = true
			scope = top + " step " + m[1]
			continue
		}
		if strings.HasPrefix(line, "#") {
			scope = section // an unnumbered heading ends a step
			continue
		}
		if m := numberedEntry.FindStringSubmatch(line); m != nil && scope != "" {
			n, _ := strconv.Atoi(m[1])
			idx.Items[scope] = max(idx.Items[scope], n)
		}
	}
	return idx
}
