package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const fleetDoc = "../../docs/fleet.md"

// docRun is one `xaad fleet-sim` line of docs/fleet.md.
type docRun struct {
	args    []string
	out     string // the --out prefix, relative to the repository
	daemons int
}

func docRuns(t *testing.T, doc string) []docRun {
	t.Helper()
	var runs []docRun
	for line := range strings.Lines(doc) {
		if !strings.HasPrefix(line, "xaad fleet-sim ") {
			continue
		}
		r := docRun{args: strings.Fields(line)[1:]}
		for i := 0; i+1 < len(r.args); i++ {
			switch r.args[i] {
			case "--out":
				r.out = r.args[i+1]
			case "--daemons":
				r.daemons, _ = strconv.Atoi(r.args[i+1])
			}
		}
		if r.out == "" || r.daemons == 0 {
			t.Fatalf("docs/fleet.md: %q names no --out or --daemons", line)
		}
		runs = append(runs, r)
	}
	if len(runs) == 0 {
		t.Fatal("docs/fleet.md has no xaad fleet-sim lines")
	}
	return runs
}

// TestFleetDocFigures holds docs/fleet.md to what the command gives: every
// run it lists has its summary and plot committed; the runs of up to
// 1,000 users are made again here and must give the committed summary
// byte for byte; and every figure of the doc's tables is the committed
// summary's.
func TestFleetDocFigures(t *testing.T) {
	b, err := os.ReadFile(fleetDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	summaries := map[string]map[string]any{}
	for _, r := range docRuns(t, doc) {
		name := filepath.Base(r.out)
		committed, err := os.ReadFile(filepath.Join("../..", r.out+".json"))
		if err != nil {
			t.Errorf("%s: %v (run scripts/fleet-figures.sh)", name, err)
			continue
		}
		if _, err := os.Stat(filepath.Join("../..", r.out+".png")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		var m map[string]any
		if err := json.Unmarshal(committed, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		summaries[name] = m
		if r.daemons > 1000 {
			continue
		}
		args := slices.Clone(r.args) // "fleet-sim", then its flags
		for i := range args {
			if args[i] == r.out {
				args[i] = filepath.Join(t.TempDir(), name)
			}
		}
		var out, errb bytes.Buffer
		if code := run(append(args, "--quiet"), &out, &errb); code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, errb.String())
		}
		if !bytes.Equal(out.Bytes(), committed) {
			t.Errorf("%s: the command now gives\n%s\nthe doc's figures are\n%s", name, out.String(), committed)
		}
	}
	// The doc's tables may also quote summaries kept from earlier code
	// (a "before" figure): committed, but not made again.
	others, _ := filepath.Glob("../../docs/fleet/*.json")
	for _, path := range others {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		if _, ok := summaries[name]; ok {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		summaries[name] = m
	}
	checked := checkFleetTables(t, doc, summaries)
	if checked < 10 {
		t.Errorf("only %d figures of docs/fleet.md's tables checked", checked)
	}
}

// checkFleetTables compares the cells of every table whose header starts
// with "| run |" with the summaries: the other header cells name fields of
// the summary (recovery.FIELD: of its first recovery), and a data row's
// first cell names the run. It returns the number of cells compared.
func checkFleetTables(t *testing.T, doc string, summaries map[string]map[string]any) int {
	var fields []string
	n := 0
	for line := range strings.Lines(doc) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			fields = nil
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "`")
		}
		if cells[0] == "run" {
			fields = cells[1:]
			continue
		}
		if fields == nil || strings.HasPrefix(cells[0], "---") {
			continue
		}
		s, ok := summaries[cells[0]]
		if !ok {
			t.Errorf("docs/fleet.md: table row %q names no run of the doc", cells[0])
			continue
		}
		for i, f := range fields {
			if i+1 >= len(cells) {
				break
			}
			want, ok := lookup(s, f)
			if !ok {
				t.Errorf("docs/fleet.md: %s has no %s", cells[0], f)
				continue
			}
			n++
			if got := cells[i+1]; got != want {
				t.Errorf("docs/fleet.md: %s %s is %q in the doc, %q in its summary", cells[0], f, got, want)
			}
		}
	}
	return n
}

func lookup(s map[string]any, field string) (string, bool) {
	if rest, ok := strings.CutPrefix(field, "recovery."); ok {
		recs, _ := s["recoveries"].([]any)
		if len(recs) == 0 {
			return "", false
		}
		s, _ = recs[0].(map[string]any)
		field = rest
	}
	v, ok := s[field]
	if !ok {
		return "", false
	}
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	default:
		return fmt.Sprint(v), true
	}
}
