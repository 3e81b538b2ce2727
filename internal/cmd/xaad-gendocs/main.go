// Command xaad-gendocs writes the man pages xaad(1) and xaactl(1) and the
// bash, zsh and fish completions of both programs from their command lines
// (cmd/xaad/cmdline and cmd/xaactl/cli), for the packages:
//
//	go run ./internal/cmd/xaad-gendocs -out DIR [-version V]
//
// It writes DIR/man1/{xaad,xaactl}.1, DIR/bash/{xaad,xaactl},
// DIR/zsh/{_xaad,_xaactl} and DIR/fish/{xaad,xaactl}.fish.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/xaad-dev/xaad/cmd/xaactl/cli"
	"github.com/xaad-dev/xaad/cmd/xaad/cmdline"
	"github.com/xaad-dev/xaad/internal/cmddoc"
)

func main() {
	out := flag.String("out", "", "write the files under `DIR` (required)")
	version := flag.String("version", "", "the version for the man pages' footer")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: xaad-gendocs -out DIR [-version V]")
		os.Exit(2)
	}
	if err := generate(*out, *version); err != nil {
		fmt.Fprintln(os.Stderr, "xaad-gendocs:", err)
		os.Exit(1)
	}
}

// pages returns both programs' pages with the sections the command lines do
// not hold: environment, files, see also.
func pages(version string) ([]cmddoc.Page, error) {
	ctl, err := cli.Docs()
	if err != nil {
		return nil, err
	}
	ctl.Version = version
	ctl.Environment = []cmddoc.Item{
		{Name: "XAAD_SOCKET", Text: "The daemon's socket, when --socket is not given."},
		{Name: "XDG_RUNTIME_DIR", Text: "Without $XAAD_SOCKET the socket is $XDG_RUNTIME_DIR/xaad/xaad.sock (else /run/user/UID/xaad/xaad.sock)."},
		{Name: "XDG_STATE_HOME", Text: "xaactl audit reads the audit log in $XDG_STATE_HOME/xaad (default ~/.local/state/xaad) unless --state-dir is given."},
	}
	ctl.Files = []cmddoc.Item{
		{Name: "$XDG_RUNTIME_DIR/xaad/xaad.sock", Text: "The daemon's socket."},
		{Name: "~/.local/state/xaad/audit.jsonl", Text: "The daemon's audit log, which xaactl audit shows (rotated copies beside it)."},
	}
	ctl.SeeAlso = []string{"xaad(1)", "systemctl(1)"}

	d := cmdline.Docs()
	d.Version = version
	d.ExitStatus = []cmddoc.ExitStatus{
		{Code: "0", Meaning: "success (check-config: the file is valid)"},
		{Code: "1", Meaning: "failure (check-config: the file has problems)"},
		{Code: "2", Meaning: "bad command line"},
	}
	d.Environment = []cmddoc.Item{
		{Name: "XDG_CONFIG_HOME", Text: "The configuration is $XDG_CONFIG_HOME/xaad/config.toml (default ~/.config/xaad/config.toml)."},
		{Name: "XAAD_SOCKET", Text: "The socket to listen on when --socket is not given and systemd passes none; xaactl dials the same."},
		{Name: "XDG_RUNTIME_DIR", Text: "Without $XAAD_SOCKET the socket is $XDG_RUNTIME_DIR/xaad/xaad.sock (else /run/user/UID/xaad/xaad.sock) unless --socket is given or systemd passes one."},
		{Name: "XDG_STATE_HOME", Text: "The database and the audit log are in $XDG_STATE_HOME/xaad (default ~/.local/state/xaad; a relative value is ignored)."},
		{Name: "CREDENTIALS_DIRECTORY", Text: "Set by systemd: the database key can be a systemd credential."},
	}
	d.Files = []cmddoc.Item{
		{Name: "/etc/xaad/config.toml", Text: "The administrator's configuration, read when the user has no ~/.config/xaad/config.toml."},
		{Name: "~/.config/xaad/config.toml", Text: "The user's configuration."},
		{Name: "~/.local/state/xaad/xaad.db", Text: "The sealed database: the sign-in and the cached tokens."},
		{Name: "~/.local/state/xaad/audit.jsonl", Text: "The audit log: who got tokens for which server."},
		{Name: "/usr/lib/systemd/user/xaad.socket", Text: "The socket unit; systemctl --user enable --now xaad.socket starts xaad on demand."},
		{Name: "/usr/lib/systemd/user/xaad.service", Text: "The service unit (Type=notify)."},
	}
	d.SeeAlso = []string{"xaactl(1)", "systemctl(1)", "systemd.socket(5)"}
	return []cmddoc.Page{d, ctl}, nil
}

// generate writes every file under dir.
func generate(dir, version string) error {
	ps, err := pages(version)
	if err != nil {
		return err
	}
	for _, p := range ps {
		files := []struct {
			path  string
			write func(io.Writer, cmddoc.Page) error
		}{
			{filepath.Join("man1", p.Program+".1"), cmddoc.WriteMan},
			{filepath.Join("bash", p.Program), cmddoc.WriteBash},
			{filepath.Join("zsh", "_"+p.Program), cmddoc.WriteZsh},
			{filepath.Join("fish", p.Program+".fish"), cmddoc.WriteFish},
		}
		for _, f := range files {
			var b bytes.Buffer
			if err := f.write(&b, p); err != nil {
				return err
			}
			path := filepath.Join(dir, f.path)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
