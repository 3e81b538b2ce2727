package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xaad-dev/xaad/cmd/xaad/cmdline"
	"github.com/xaad-dev/xaad/internal/fleetsim"
)

// TestFleetSimDefaults: the flags' defaults are the simulator's.
func TestFleetSimDefaults(t *testing.T) {
	fs, o := cmdline.FleetSimFlags(io.Discard)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	got, err := fleetConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	if want := fleetsim.DefaultConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("flags give\n%+v\nthe simulator's defaults are\n%+v", got, want)
	}
}

// TestFleetSimWritesOutputs runs the command on a small fleet with an
// outage and decodes what it wrote: a CSV of one row per bin, a PNG, and
// the JSON summary it also printed.
func TestFleetSimWritesOutputs(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "run")
	var out, errb bytes.Buffer
	args := []string{"fleet-sim", "--daemons", "200", "--seed", "3", "--outage", "idp@10:00+20m", "--idp-org-limit", "30", "--out", prefix}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	f, err := os.Open(prefix + ".csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 24*60+1 || rows[0][2] != "idp_rps" || rows[601][1] != "10:00" {
		t.Errorf("CSV: %d rows, header %v, row 601 %v", len(rows), rows[0], rows[601])
	}
	pf, err := os.Open(prefix + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	img, err := png.Decode(pf)
	if err != nil {
		t.Fatalf("PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 200 {
		t.Errorf("PNG of %v", b)
	}
	written, err := os.ReadFile(prefix + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(written, out.Bytes()) {
		t.Error("the JSON written differs from the one printed")
	}
	var s fleetsim.Summary
	if err := json.Unmarshal(written, &s); err != nil {
		t.Fatal(err)
	}
	if s.Daemons != 200 || s.Seed != 3 || s.IdP429 == 0 || s.Cascades429 != 0 || len(s.Recoveries) != 1 {
		t.Errorf("summary: %+v", s)
	}
	if !strings.Contains(errb.String(), "simulated in") {
		t.Errorf("no timing on stderr: %q", errb.String())
	}
}

func TestFleetSimBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--outage", "idp@10:00"}, {"--daemons", "0"}, {"--work-start", "8am"}, {"--steady", "10:00"}, {"stray"},
	} {
		var out, errb bytes.Buffer
		if code := run(append([]string{"fleet-sim", "--out", filepath.Join(t.TempDir(), "x")}, args...), &out, &errb); code != 2 || errb.Len() == 0 {
			t.Errorf("%v: exit %d, %q", args, code, errb.String())
		}
	}
}
