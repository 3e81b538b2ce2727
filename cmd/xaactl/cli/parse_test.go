package cli

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xaad-dev/xaad/client"
)

func TestParseToken(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    tokenOpts
		wantErr string // substring; "" means success
	}{
		{
			name: "defaults",
			args: []string{"https://m.example/mcp"},
			want: tokenOpts{req: client.TokenRequest{Resource: "https://m.example/mcp"}, format: "raw"},
		},
		{
			name: "flags after the URL",
			args: []string{"https://m.example/mcp", "--scope", "a", "--scope=b", "--min-valid", "5m", "--force", "--format", "json"},
			want: tokenOpts{req: client.TokenRequest{
				Resource: "https://m.example/mcp", Scopes: []string{"a", "b"}, MinValidFor: 5 * time.Minute, ForceRefresh: true,
			}, format: "json"},
		},
		{
			name: "flags before the URL",
			args: []string{"-format=header", "https://m.example/mcp"},
			want: tokenOpts{req: client.TokenRequest{Resource: "https://m.example/mcp"}, format: "header"},
		},
		{
			name: "double dash",
			args: []string{"--", "--odd"},
			want: tokenOpts{req: client.TokenRequest{Resource: "--odd"}, format: "raw"},
		},
		{name: "no URL", args: nil, wantErr: "missing URL"},
		{name: "two URLs", args: []string{"a", "b"}, wantErr: `unexpected argument "b"`},
		{name: "bad format", args: []string{"a", "--format", "xml"}, wantErr: "unknown --format"},
		{name: "bad duration", args: []string{"a", "--min-valid", "soon"}, wantErr: "invalid value"},
		{name: "negative duration", args: []string{"a", "--min-valid", "-1m"}, wantErr: "must not be negative"},
		{name: "unknown flag", args: []string{"a", "--nope"}, wantErr: "not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseToken(tt.args)
			checkParse(t, err, tt.wantErr)
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseToken = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseServer(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    serverOpts
		wantErr string
	}{
		{
			name: "add",
			args: []string{"add", "https://m.example/mcp", "--scope", "x", "--keep-warm"},
			want: serverOpts{verb: "add", server: client.Server{URL: "https://m.example/mcp", Scopes: []string{"x"}, KeepWarm: true}},
		},
		{name: "ls", args: []string{"ls", "--json"}, want: serverOpts{verb: "ls", json: true}},
		{name: "rm", args: []string{"rm", "https://m.example/mcp"}, want: serverOpts{verb: "rm", server: client.Server{URL: "https://m.example/mcp"}}},
		{name: "no verb", args: nil, wantErr: "missing server command"},
		{name: "bad verb", args: []string{"list"}, wantErr: `unknown server command "list"`},
		{name: "rm without URL", args: []string{"rm"}, wantErr: "missing URL"},
		{name: "ls with argument", args: []string{"ls", "x"}, wantErr: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseServer(tt.args)
			checkParse(t, err, tt.wantErr)
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseServer = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseStatusAndProbe(t *testing.T) {
	if o, err := parseStatus([]string{"--json"}); err != nil || !o.json {
		t.Errorf("parseStatus(--json) = %+v, %v", o, err)
	}
	if _, err := parseStatus([]string{"x"}); !isUsage(err) {
		t.Errorf("parseStatus(x) = %v, want usage error", err)
	}
	o, err := parseProbe([]string{"https://m.example/mcp", "--scope", "a"})
	if err != nil || o.url != "https://m.example/mcp" || !reflect.DeepEqual(o.scopes, []string{"a"}) {
		t.Errorf("parseProbe = %+v, %v", o, err)
	}
}

func TestHelpFlag(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"URL", "-h"}} {
		_, err := parseToken(args)
		var he *helpError
		if !errors.As(err, &he) || !strings.Contains(he.text, "Example") {
			t.Errorf("parseToken(%q) = %v, want help with an example", args, err)
		}
	}
}

func checkParse(t *testing.T, err error, wantErr string) {
	t.Helper()
	if wantErr == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !isUsage(err) || !strings.Contains(err.Error(), wantErr) {
		t.Fatalf("err = %v, want a usage error containing %q", err, wantErr)
	}
}

func isUsage(err error) bool {
	var ue *usageError
	return errors.As(err, &ue)
}
