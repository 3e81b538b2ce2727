package cli

import (
	"reflect"
	"testing"
	"time"
)

func TestParseLogin(t *testing.T) {
	def := 5 * time.Minute
	tests := []struct {
		name    string
		args    []string
		want    loginOpts
		wantErr string
	}{
		{name: "browser", args: nil, want: loginOpts{timeout: def}},
		{name: "device", args: []string{"--device", "--timeout", "2m"}, want: loginOpts{device: true, timeout: 2 * time.Minute}},
		{name: "no browser scopes", args: []string{"--no-browser", "--scope", "email", "--scope", "groups"},
			want: loginOpts{noBrowser: true, timeout: def, scopes: []string{"email", "groups"}}},
		{name: "id token", args: []string{"--id-token-file", "f"}, want: loginOpts{idTokenFile: "f", timeout: def}},
		{name: "both", args: []string{"--id-token-file", "-", "--refresh-token-file", "r"}, want: loginOpts{idTokenFile: "-", refreshTokenFile: "r", timeout: def}},
		{name: "refresh alone", args: []string{"--refresh-token-file", "r"}, wantErr: "needs --id-token-file"},
		{name: "import and device", args: []string{"--id-token-file", "f", "--device"}, wantErr: "does not go with"},
		{name: "device no browser", args: []string{"--device", "--no-browser"}, wantErr: "never opens a browser"},
		{name: "bad timeout", args: []string{"--timeout", "0s"}, wantErr: "must be positive"},
		{name: "stdin twice", args: []string{"--id-token-file", "-", "--refresh-token-file", "-"}, wantErr: "only one"},
		{name: "positional", args: []string{"--id-token-file", "f", "extra"}, wantErr: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLogin(tt.args)
			checkParse(t, err, tt.wantErr)
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseLogin = %+v, want %+v", got, tt.want)
			}
		})
	}
}
