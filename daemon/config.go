package daemon

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/xaad-dev/xaad/daemon/keys"
)

// FileConfig is the TOML configuration file. Unknown keys are errors.
type FileConfig struct {
	Daemon        DaemonSection         `toml:"daemon"`
	IdP           IdPSection            `toml:"idp"`
	AuthServers   []AuthServerSection   `toml:"authorization_server"`
	DefaultClient *DefaultClientSection `toml:"default_client"`
	Servers       []ServerSection       `toml:"server"`
}

// DaemonSection holds process settings.
type DaemonSection struct {
	Socket   string `toml:"socket"`
	StateDir string `toml:"state_dir"`
	LogLevel string `toml:"log_level"`
	// AllowUnlistedServers lets people use MCP servers that are not listed
	// in [[server]]. Nil means true.
	AllowUnlistedServers *bool `toml:"allow_unlisted_servers"`
	// KeyProvider and KeyFile choose where the database's data key is kept
	// (package keys): "auto" (default), "systemd", "keyring" or "file".
	KeyProvider string `toml:"key_provider"`
	KeyFile     string `toml:"key_file"`
}

// ClientSection is a client registration at one token endpoint.
type ClientSection struct {
	ClientID         string `toml:"client_id"`
	AuthMethod       string `toml:"auth_method"`
	ClientSecretFile string `toml:"client_secret_file"`
	PrivateKeyFile   string `toml:"private_key_file"`
	KeyID            string `toml:"key_id"`

	// The rate limit at this client's token endpoint (config_rate.go).
	RateSection
}

// DefaultClientSection is the registration used at authorization servers
// without an [[authorization_server]] section of their own. A secret is
// bound to the servers it was made for (MCP 2026-07-28, "Authorization
// Server Binding"): a secret-based one must name them in Issuers, or be
// allowed everywhere explicitly with AnyIssuer.
type DefaultClientSection struct {
	ClientSection
	Issuers   []string `toml:"issuers"`
	AnyIssuer bool     `toml:"any_issuer"`
}

// IdPSection is the enterprise IdP.
type IdPSection struct {
	Issuer        string `toml:"issuer"`
	TokenEndpoint string `toml:"token_endpoint"`
	ClientSection
	Scopes      []string `toml:"scopes"`
	IDTokenFile string   `toml:"id_token_file"`
	// Prompt is sent on every browser sign-in, e.g. "consent" (OIDC Core
	// §3.1.2.1).
	Prompt string `toml:"prompt"`
}

// AuthServerSection is the client's registration at one MCP authorization server.
type AuthServerSection struct {
	Issuer string `toml:"issuer"`
	ClientSection
	// DPoP is the DPoP policy for tokens of this authorization server:
	// "auto" (default), "required" or "off" (broker.DPoPPolicy).
	DPoP string `toml:"dpop"`
}

// ServerSection is one MCP server.
type ServerSection struct {
	URL    string   `toml:"url"`
	Scopes []string `toml:"scopes"`
	// KeepWarm refreshes the server's tokens in the background whether or
	// not anyone uses them.
	KeepWarm bool `toml:"keep_warm"`
	// IdleAfter, a duration ("8h"), keeps a token refreshed in the
	// background while it was asked for within that long; unset, only a
	// token asked for since it was obtained is refreshed (config_idle.go).
	IdleAfter string `toml:"idle_after"`
	// AllowedClients, when set, names the executables that may get this
	// server's tokens (policy.go): absolute paths or "sha256:<hex>".
	AllowedClients []string `toml:"allowed_clients"`
	// DPoP is the server's DPoP policy, combined with its authorization
	// server's: required anywhere wins, then off (broker.DPoPPolicy).
	DPoP string `toml:"dpop"`
}

// Problems collects every mistake found in a configuration, so one run of
// `xaad check-config` reports them all.
type Problems []string

func (p Problems) Error() string {
	if len(p) == 1 {
		return "config: " + p[0]
	}
	return fmt.Sprintf("config: %d problems:\n  - %s", len(p), strings.Join(p, "\n  - "))
}

// ParseConfig decodes TOML and validates it with every check `xaad run`
// makes before it starts (config_check.go), so `xaad check-config` and a
// start cannot disagree: unknown keys, malformed values, and the files the
// configuration names (secrets readable only by the owner and not empty,
// private keys that parse and can sign).
func ParseConfig(data []byte) (*FileConfig, error) {
	var fc FileConfig
	md, err := toml.Decode(string(data), &fc)
	if err != nil {
		return nil, Problems{err.Error()}
	}
	var probs Problems
	for _, k := range md.Undecoded() {
		probs = append(probs, fmt.Sprintf("unknown key %q", k.String()))
	}
	probs = append(probs, fc.validate()...)
	if len(probs) > 0 {
		return nil, probs
	}
	return &fc, nil
}

// LoadConfig reads and validates the file at path.
func LoadConfig(path string) (*FileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fc, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return fc, nil
}

// loadConfig is the configuration every command that starts from one
// uses (run, rekey): fc when given, else the file at path, else the file
// [ConfigToRead] names. It returns the path read ("" for fc).
func loadConfig(fc *FileConfig, path string) (*FileConfig, string, error) {
	if fc != nil {
		return fc, "", nil
	}
	if path == "" {
		var err error
		if path, err = ConfigToRead(); err != nil {
			return nil, "", err
		}
	}
	fc, err := LoadConfig(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, path, fmt.Errorf("no configuration at %s: write one (see the README's Configure section) and check it with `xaad check-config %s`", path, path)
	}
	return fc, path, err
}

// keySettings are the [keys] settings of the section.
func (d DaemonSection) keySettings() keys.Settings {
	return keys.Settings{Provider: d.KeyProvider, File: d.KeyFile}
}
