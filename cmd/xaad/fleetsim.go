package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/xaad-dev/xaad/broker/upstream"
	"github.com/xaad-dev/xaad/cmd/xaad/cmdline"
	"github.com/xaad-dev/xaad/internal/fleetsim"
)

// progressEvery is how often a long run reports how far it is.
const progressEvery = 2 * time.Second

func cmdFleetSim(args []string, stdout, stderr io.Writer) int {
	fs, o := cmdline.FleetSimFlags(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "xaad fleet-sim: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg, err := fleetConfig(o)
	if err != nil {
		fmt.Fprintln(stderr, "xaad fleet-sim:", err)
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "xaad fleet-sim:", err)
		return 2
	}
	start := time.Now()
	var progress fleetsim.Progress
	if !o.Quiet {
		last := start
		progress = func(reached, total time.Duration) {
			if now := time.Now(); now.Sub(last) >= progressEvery {
				last = now
				fmt.Fprintf(stderr, "xaad fleet-sim: simulated %s of %s (%.0f%%) in %s\n",
					reached.Truncate(time.Minute), total, 100*reached.Seconds()/total.Seconds(), now.Sub(start).Round(100*time.Millisecond))
			}
		}
	}
	res, err := fleetsim.Run(cfg, progress)
	if err != nil {
		fmt.Fprintln(stderr, "xaad fleet-sim:", err)
		return 1
	}
	elapsed := time.Since(start)
	title := o.Title
	if title == "" {
		title = fmt.Sprintf("%d users, %d servers each, %s tokens (seed %d)", cfg.Daemons, cfg.Servers, shortDuration(cfg.TokenLifetime), cfg.Seed)
	}
	var js bytes.Buffer
	if err := fleetsim.WriteJSON(&js, res); err != nil {
		fmt.Fprintln(stderr, "xaad fleet-sim:", err)
		return 1
	}
	outputs := []struct {
		ext   string
		write func(io.Writer) error
	}{
		{".csv", func(w io.Writer) error { return fleetsim.WriteCSV(w, res) }},
		{".png", func(w io.Writer) error { return fleetsim.WritePNG(w, res, &cfg, title) }},
		{".json", func(w io.Writer) error { _, err := w.Write(js.Bytes()); return err }},
	}
	for _, out := range outputs {
		if err := writeFile(o.Out+out.ext, out.write); err != nil {
			fmt.Fprintln(stderr, "xaad fleet-sim:", err)
			return 1
		}
	}
	stdout.Write(js.Bytes())
	if !o.Quiet {
		fmt.Fprintf(stderr, "xaad fleet-sim: %d daemons, %s simulated in %s; wrote %s.csv, %s.png, %s.json\n",
			cfg.Daemons, cfg.Duration, elapsed.Round(10*time.Millisecond), o.Out, o.Out, o.Out)
	}
	return 0
}

// fleetConfig turns the flags into a simulation.
func fleetConfig(o *cmdline.FleetSimOptions) (fleetsim.Config, error) {
	c := fleetsim.DefaultConfig()
	c.Seed, c.Daemons, c.Servers, c.Duration, c.Bin = o.Seed, o.Daemons, o.Servers, o.Duration, o.Bin
	c.TokenLifetime, c.JAGLifetime, c.RecoveryWindow = o.TokenLifetime, o.JAGLifetime, o.RecoveryWindow
	c.IdP = fleetsim.Server{OrgLimit: o.IdPOrgLimit, UserLimit: o.IdPUserLimit, Capacity: o.IdPCap}
	c.AS = fleetsim.Server{OrgLimit: o.ASOrgLimit, UserLimit: o.ASUserLimit, Capacity: o.ASCap}
	c.IdPLimit = upstream.Limit{Rate: o.RateLimit, Burst: o.RateBurst}
	c.ASLimit = upstream.Limit{Rate: o.ASRateLimit, Burst: o.ASRateBurst}
	u := &c.Usage
	var err error
	if u.Start, err = fleetsim.ParseClock(o.WorkStart); err != nil {
		return c, fmt.Errorf("--work-start: %w", err)
	}
	u.StartSpread, u.Hours, u.SuspendShare, u.UseShare = o.StartSpread, o.WorkHours, o.SuspendShare, o.UseShare
	u.Session, u.Gap, u.RequestEvery, u.CallerTimeout = o.Session, o.Gap, o.RequestEvery, o.Timeout
	from, to, ok := strings.Cut(o.Steady, "-")
	if !ok {
		return c, fmt.Errorf("--steady %q: want HH:MM-HH:MM", o.Steady)
	}
	if c.SteadyFrom, err = fleetsim.ParseClock(from); err != nil {
		return c, fmt.Errorf("--steady: %w", err)
	}
	if c.SteadyTo, err = fleetsim.ParseClock(to); err != nil {
		return c, fmt.Errorf("--steady: %w", err)
	}
	c.Outages = nil
	for _, s := range o.Outages {
		out, err := fleetsim.ParseOutage(s)
		if err != nil {
			return c, fmt.Errorf("--outage: %w", err)
		}
		c.Outages = append(c.Outages, out)
	}
	return c, nil
}

// writeFile writes path whole or not at all: a failed write leaves no
// half file that a plot or a script would take for a result.
func writeFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(dirOf(path), ".fleet-sim-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i+1]
	}
	return "."
}

// shortDuration is d as a title says it: 1h rather than 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
